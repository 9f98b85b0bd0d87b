import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, preParsingHookHandler } from 'fastify';
import { answerClientError } from './platform-errors';

/** Methods whose routes read a body; a GET or HEAD route's request is not watched (no per-request cost there). */
const BODILESS_METHODS = new Set(['GET', 'HEAD']);

/** How often bodies still arriving are checked against their deadline, in milliseconds: the bound's slack. */
export const BODY_DEADLINE_CHECK_MS = 1_000;

/**
 * Gives the body of each request to a route that reads one `timeoutMs` to arrive, counted from its
 * headers; a body still arriving after that is answered 408 and its connection closed, as Node does
 * for headers that come too slowly. Node's own `requestTimeout` stops counting once the headers are
 * in (Node 20 and 24: a body sent a byte at a time, or never, held the connection for good). One
 * timer checks every watched body each {@link BODY_DEADLINE_CHECK_MS} while any is arriving.
 */
export function installBodyDeadline(fastify: FastifyInstance, timeoutMs: number): void {
  const deadlines = new Map<IncomingMessage, number>();
  let checker: NodeJS.Timeout | undefined;
  const check = () => {
    const now = Date.now();
    for (const [raw, deadline] of deadlines) {
      if (raw.complete || raw.destroyed) deadlines.delete(raw);
      else if (deadline <= now) {
        deadlines.delete(raw);
        answerClientError(Object.assign(new Error('The request body did not arrive in time'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }), raw.socket);
      }
    }
    if (deadlines.size === 0) {
      clearInterval(checker);
      checker = undefined;
    }
  };
  const watch: preParsingHookHandler = (request, _reply, payload, done) => {
    if (!request.raw.complete) {
      deadlines.set(request.raw, Date.now() + timeoutMs);
      checker ??= setInterval(check, BODY_DEADLINE_CHECK_MS).unref();
    }
    done(null, payload);
  };
  fastify.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (methods.every((method) => BODILESS_METHODS.has(method))) return;
    const existing = route.preParsing;
    route.preParsing = existing === undefined ? [watch] : [...(Array.isArray(existing) ? existing : [existing]), watch];
  });
  fastify.addHook('onClose', (_instance, done) => {
    clearInterval(checker);
    deadlines.clear();
    done();
  });
}
