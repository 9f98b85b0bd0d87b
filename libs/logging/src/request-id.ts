import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyAdapter } from '@nestjs/platform-fastify';
import { onRequestArrived } from '@app/http/request-hooks';

export const REQUEST_ID_HEADER = 'x-request-id';

/** Accepted incoming ids: short and printable, so a caller cannot inject lines into the log. */
const ACCEPTABLE_REQUEST_ID = /^[\w.:@-]{1,128}$/;

/**
 * This process's half of the ids it generates: 64 random bits, drawn once, so no two processes — of
 * this instance or of any other — share it in practice.
 */
const PROCESS_PREFIX = randomBytes(8).toString('hex');
let generated = 0;

/**
 * A new request id, `<16 hex digits of this process>-<sequence number>`: the sequence keeps it unique
 * within the process, the prefix across processes. It replaces a UUID per request, which cost about a
 * quarter of the instructions the app's per-request observers add (docs/benchmarks.md, "Instructions
 * per request"). Letters, digits and a dash, so it is also an acceptable incoming id here and a request
 * id cursor-runner takes.
 */
export function nextRequestId(): string {
  generated += 1;
  return `${PROCESS_PREFIX}-${generated}`;
}

/** The caller's `X-Request-Id` when it is acceptable, else {@link nextRequestId}. */
export function resolveRequestId(incoming: string | string[] | undefined): string {
  const candidate = Array.isArray(incoming) ? incoming[0] : incoming;
  return candidate && ACCEPTABLE_REQUEST_ID.test(candidate) ? candidate : nextRequestId();
}

/** Fastify's `genReqId` option: honours an acceptable incoming `X-Request-Id`. */
export const genRequestId = (req: IncomingMessage): string => resolveRequestId(req.headers[REQUEST_ID_HEADER]);

/** Echoes the request id on every response, errors included. */
export function installRequestIdHeader(adapter: FastifyAdapter): void {
  onRequestArrived(adapter, (request, reply) => void reply.header(REQUEST_ID_HEADER, request.id));
}
