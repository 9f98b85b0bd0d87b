import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyAdapter } from '@nestjs/platform-fastify';
import { answerClientError } from './platform-errors';
import { onRequestArrived, unfinishedResponses } from './request-hooks';

/** How often bodies still arriving are checked against their deadline, in milliseconds: the bound's slack. */
export const BODY_DEADLINE_CHECK_MS = 1_000;

interface ArrivingBody {
  deadline: number;
  response: ServerResponse;
}

/** What a body refused as late fails with: Node's code for a request that came too slowly, answered 408. */
function lateBodyError(): Error {
  return Object.assign(new Error('The request body did not arrive in time'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' });
}

/**
 * Refuses now, as late (408, then the connection closes), a request on `socket` whose body is still
 * arriving; returns whether there was one. A drain calls it before its own deadline: such a body
 * could not be used after the process exits anyway, and its client gets an answer instead of a reset.
 */
export function refuseBodyStillArriving(socket: Socket): boolean {
  if (!unfinishedResponses(socket).some((response) => response.req.complete === false)) return false;
  answerClientError(lateBodyError(), socket);
  return true;
}

/** Whether `request` announced a body (a length other than 0, or a transfer coding). */
function announcesBody(request: IncomingMessage): boolean {
  const length = request.headers['content-length'];
  return (length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined;
}

/**
 * Gives the body of every request that announced one `timeoutMs` to arrive, counted from its
 * headers, whatever answers it — a route, the not-found handler, a hook that refused it before
 * reading the body, a GET route that ignores it. A body still arriving after that is answered 408
 * and its connection closed, as Node does for headers that come too slowly; when the request was
 * answered already (refused before its body was read), the connection just closes. Node's own
 * `requestTimeout` stops counting once the headers are in (Node 20: a body never sent after its
 * headers kept the connection, and a shutdown's drain, for good). One timer checks every watched
 * body each {@link BODY_DEADLINE_CHECK_MS} while any is arriving; a request without a body costs
 * two header reads.
 */
export function installBodyDeadline(adapter: FastifyAdapter, timeoutMs: number): void {
  const arriving = new Map<IncomingMessage, ArrivingBody>();
  let checker: NodeJS.Timeout | undefined;
  const check = () => {
    const now = Date.now();
    for (const [raw, { deadline, response }] of arriving) {
      const socket = raw.socket;
      if (raw.complete || !socket || socket.destroyed) arriving.delete(raw);
      else if (deadline <= now) {
        arriving.delete(raw);
        if (response.writableEnded) socket.destroy();
        else answerClientError(lateBodyError(), socket);
      }
    }
    if (arriving.size === 0) {
      clearInterval(checker);
      checker = undefined;
    }
  };
  onRequestArrived(adapter, (request, reply) => {
    const raw = request.raw;
    if (raw.complete || !announcesBody(raw)) return;
    arriving.set(raw, { deadline: Date.now() + timeoutMs, response: reply.raw });
    checker ??= setInterval(check, BODY_DEADLINE_CHECK_MS).unref();
  });
  adapter.getInstance().addHook('onClose', (_instance, done) => {
    clearInterval(checker);
    arriving.clear();
    done();
  });
}
