import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyAdapter } from '@nestjs/platform-fastify';
import { onRequestArrived } from '@app/http/request-hooks';

export const REQUEST_ID_HEADER = 'x-request-id';

/** Accepted incoming ids: short and printable, so a caller cannot inject lines into the log. */
const ACCEPTABLE_REQUEST_ID = /^[\w.:@-]{1,128}$/;

/** The caller's `X-Request-Id` when it is acceptable, else a new UUID. */
export function resolveRequestId(incoming: string | string[] | undefined): string {
  const candidate = Array.isArray(incoming) ? incoming[0] : incoming;
  return candidate && ACCEPTABLE_REQUEST_ID.test(candidate) ? candidate : randomUUID();
}

/** Fastify's `genReqId` option: honours an acceptable incoming `X-Request-Id`. */
export const genRequestId = (req: IncomingMessage): string => resolveRequestId(req.headers[REQUEST_ID_HEADER]);

/** Echoes the request id on every response, errors included. */
export function installRequestIdHeader(adapter: FastifyAdapter): void {
  onRequestArrived(adapter, (request, reply) => void reply.header(REQUEST_ID_HEADER, request.id));
}
