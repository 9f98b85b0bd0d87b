import type { FastifyAdapter } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { onRequestAnswered } from '@app/http/request-hooks';
import type { Level, Logger } from 'pino';
import { redactUrl } from './redaction';

/**
 * Probe routes, polled every few seconds: logging each answer would drown everything else. A
 * dependency's change of state is logged once by its health indicator instead.
 */
const PROBE_PATHS = new Set(['/health/live', '/health/ready']);

function levelOf(statusCode: number): Level {
  return statusCode >= 500 ? 'error' : statusCode >= 400 ? 'warn' : 'info';
}

function pathOf(url: string): string {
  const queryStart = url.indexOf('?');
  return queryStart === -1 ? url : url.slice(0, queryStart);
}

/** The access-log line of one answered request: method, path (credentials redacted), status, duration, request id. */
function writeAccessLine(logger: Logger, level: Level, request: FastifyRequest, reply: FastifyReply): void {
  const path = redactUrl(request.url);
  const durationMs = Math.round(reply.elapsedTime);
  logger[level](
    {
      req: { id: request.id, method: request.method, path, remoteAddress: request.ip },
      res: { statusCode: reply.statusCode },
      durationMs,
    },
    `${request.method} ${path} ${reply.statusCode} ${durationMs}ms`,
  );
}

/**
 * One line per request, written once the answer is sent (`onResponse`, so answers sent from any
 * hook are logged too): `info` for 2xx/3xx, `warn` for 4xx, `error` for 5xx, without a stack — an
 * error's own line, if any, comes from where it was caught. When the level is disabled the request
 * costs one comparison: no child logger, no serialization, no redaction. `logger` is resolved on
 * first use, once the app exists.
 */
export function installAccessLog(adapter: FastifyAdapter, logger: () => Logger): void {
  let resolved: Logger | undefined;
  onRequestAnswered(adapter, (request, reply) => {
    const log = (resolved ??= logger());
    const level = levelOf(reply.statusCode);
    if (log.isLevelEnabled(level) && !PROBE_PATHS.has(pathOf(request.url))) writeAccessLine(log, level, request, reply);
  });
}
