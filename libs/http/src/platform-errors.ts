import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from './error-body';
import { answeredOnSocket, closeAfterAnswers, type SocketAnswer, unfinishedResponses } from './request-hooks';

/** What is wrong with a request Fastify refused before routing it (a path it cannot decode). */
function routingErrorSay(error: FastifyError): string {
  switch (error.code) {
    case 'FST_ERR_BAD_URL':
      return 'The request path is not valid: it has a malformed percent-encoding.';
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return 'The request path is not valid: a path segment is too long.';
    default:
      return 'The request could not be routed.';
  }
}

/**
 * Fastify's `frameworkErrors` option: the errors it raises before a route is matched (bad percent-
 * encoding in the path, a path parameter over `maxParamLength`), in the service's error shape
 * instead of Fastify's `{code, message, statusCode}`. No route matched, so the shape is the default.
 */
export function answerRoutingError(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
  void reply
    .code(status)
    .type('application/json; charset=utf-8')
    .send(errorBody(routingErrorSay(error), status === 414 ? 'URI Too Long' : 'Bad Request'));
}

interface ClientErrorAnswer extends SocketAnswer {
  reason: string;
}

const NOT_HTTP: ClientErrorAnswer = { status: 400, reason: 'Bad Request', say: 'The request is not valid HTTP.' };

/**
 * The answer to what Node's parser refused. `inBody`: the error is in the body of a request whose
 * headers were read — a malformed chunk (or trailer), or the client ending its side before the body
 * was whole — which a client is better told than "not valid HTTP".
 */
function clientErrorAnswer(code: string | undefined, inBody: boolean): ClientErrorAnswer {
  if (code === 'HPE_HEADER_OVERFLOW') return { status: 431, reason: 'Request Header Fields Too Large', say: 'The request headers are too large.' };
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, reason: 'Request Timeout', say: 'The request did not arrive in time.' };
  if (!inBody) return NOT_HTTP;
  const say = code === 'HPE_INVALID_EOF_STATE' ? 'The request body ended before it was complete.' : "The request body's chunked encoding is not valid.";
  return { ...NOT_HTTP, say };
}

/**
 * Fastify's `clientErrorHandler` option, called for what Node's HTTP parser refuses before Fastify
 * sees a request (headers too large, a raw non-ASCII byte in the path, a malformed request line):
 * the same answer statuses as Fastify's default, in the service's error shape, then the socket closes.
 *
 * When the refused bytes were pipelined behind requests still being answered — or sent after a request
 * that asked to close the connection — the answers owed go out first and the connection then closes;
 * nothing answers the refused bytes: an error written now would be read as the answer to the earlier
 * request, and closing now would cut that request off. Unless the error is in the body of the last of
 * those requests (its client stopped sending half-way, or sent a malformed chunk): that request can
 * never complete, so the connection closes now, as Node closes it — left open, such a connection stayed
 * half-closed and counted in flight for good. When that request is the only one owed and the error's
 * answer reached the kernel whole, the request is observed with the answer's status; otherwise (its
 * client had closed its side, or others were owed ahead of it) as cut off.
 */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const owed = unfinishedResponses(socket);
  const inBody = owed.at(-1)?.req.complete === false;
  if (!inBody && closeAfterAnswers(socket)) return;
  // Not after the headers of an answer already on its way: the client would read this inside it.
  if (socket.writable && !owed[0]?.headersSent) {
    const answer = clientErrorAnswer(error.code, inBody);
    socket.write(closingErrorResponse(answer));
    if (owed.length === 1 && !socket.readableEnded && socket.writableLength === 0) answeredOnSocket(owed[0], answer);
  }
  socket.destroy(error);
}

/**
 * Node hands a `CONNECT` request to the server's `connect` listeners and, with none, destroys the
 * socket without writing a byte: the client saw its connection drop. The service is not a proxy, so
 * such a request is answered 405 in the service's error shape and the connection closed. Node takes
 * its own `error` listener off a socket it hands over: without one of ours, a client resetting the
 * connection while the answer is written was an uncaught exception that stopped the process.
 */
export function refuseConnectRequests(server: Server): void {
  server.on('connect', (_request, socket: Socket) => {
    socket.on('error', () => socket.destroy());
    socket.end(closingErrorResponse({ status: 405, reason: 'Method Not Allowed', say: 'This service is not a proxy: it does not serve CONNECT.' }));
  });
}

/** An error answer in the service's shape, as bytes for a socket, saying the connection closes after it. */
function closingErrorResponse({ status, reason, say }: ClientErrorAnswer): string {
  const body = JSON.stringify(errorBody(say, reason));
  return (
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}
