import type { FastifyAdapter } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { onRequestAnswered } from '@app/http/request-hooks';
import pino, { type DestinationStream, type Level, type Logger } from 'pino';
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

const { chindingsSym, endSym, lsCacheSym, messageKeySym, streamSym, timeSym } = pino.symbols;

/** The parts of a pino logger's own line format that an access line is assembled from. */
interface LineFormat {
  levelPrefix: Record<number, string>;
  time: () => string;
  /** Read at each line: `setBindings` replaces them. */
  bindings: () => string;
  messageKey: string;
  end: string;
  stream: DestinationStream;
}

function lineFormatOf(logger: Logger): LineFormat {
  const internals = logger as unknown as Record<symbol, unknown>;
  return {
    levelPrefix: internals[lsCacheSym] as Record<number, string>,
    time: internals[timeSym] as () => string,
    bindings: () => internals[chindingsSym] as string,
    messageKey: internals[messageKeySym] as string,
    end: internals[endSym] as string,
    stream: internals[streamSym] as DestinationStream,
  };
}

/** `"name":value` for a string, nothing when absent: pino leaves out a field whose value is undefined. */
function stringField(name: string, value: string | undefined): string {
  return typeof value === 'string' ? `"${name}":${JSON.stringify(value)}` : '';
}

/**
 * Writes the access-log line of one answered request — method, path (credentials redacted), status,
 * duration, request id — the line `logger[level]({ req, res, durationMs }, message)` writes, assembled
 * in one template from the logger's own level prefix, time, bindings and message key instead of by
 * pino's general serializer, which cost about three times as much (docs/benchmarks.md, "The access
 * log"). It holds while the app's logger has no serializers, `formatters.log`, mixin or hooks, which
 * pino would apply and this skips; access-log.spec.ts compares the two lines.
 */
export function accessLineWriter(logger: Logger): (level: Level, request: FastifyRequest, reply: FastifyReply) => void {
  const format = lineFormatOf(logger);
  const messageKey = JSON.stringify(format.messageKey);
  return (level, request, reply) => {
    const path = JSON.stringify(redactUrl(request.url));
    const method = JSON.stringify(request.method);
    const durationMs = Math.round(reply.elapsedTime);
    const message = `"${method.slice(1, -1)} ${path.slice(1, -1)} ${reply.statusCode} ${durationMs}ms"`;
    const id = stringField('id', request.id);
    // Undefined once the client is gone: when it disconnects during a large answer, `onResponse` runs after the socket is destroyed.
    const remoteAddress = stringField('remoteAddress', request.ip);
    format.stream.write(
      `${format.levelPrefix[logger.levels.values[level]]}${format.time()}${format.bindings()}` +
        `,"req":{${id && `${id},`}"method":${method},"path":${path}${remoteAddress && `,${remoteAddress}`}}` +
        `,"res":{"statusCode":${reply.statusCode}},"durationMs":${durationMs},${messageKey}:${message}${format.end}`,
    );
  };
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
  let writeLine: ReturnType<typeof accessLineWriter> | undefined;
  onRequestAnswered(adapter, (request, reply) => {
    const log = (resolved ??= logger());
    const level = levelOf(reply.statusCode);
    if (log.isLevelEnabled(level) && !PROBE_PATHS.has(pathOf(request.url))) (writeLine ??= accessLineWriter(log))(level, request, reply);
  });
}
