/** A Node system error as sockets and requests report it. */
export type SystemError = Error & { code?: string };

/** System error codes that mean a deadline passed below us (a connect timeout of the OS). */
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT']);

/**
 * Why an {@link OutboundHttp} exchange produced no complete answer. Features map these to their
 * own errors; the messages here are the bare details ("connect ECONNREFUSED 127.0.0.1:3001"),
 * never a URL or a header, so they are safe to quote.
 */
export abstract class OutboundHttpError extends Error {
  protected constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * The upstream could not be reached, or the connection broke before the whole answer arrived
 * (refused, DNS, reset, closed mid-answer). The message is the socket's own.
 */
export class OutboundConnectionError extends OutboundHttpError {
  /** The system error code (`ECONNREFUSED`, `ENOTFOUND`, `ECONNRESET`, …) when there is one. */
  readonly code: string | undefined;

  constructor(cause: SystemError) {
    super(cause.message, { cause });
    this.code = cause.code;
  }
}

/**
 * No complete answer within the exchange's deadline (connecting, sending, any resend and reading
 * together), or the operating system gave up connecting first (`ETIMEDOUT`).
 */
export class OutboundTimeoutError extends OutboundHttpError {
  /** The deadline of the exchange, in milliseconds. */
  readonly timeoutMs: number;

  /** @param detail the message; default `no answer within <timeoutMs> ms`, else the OS's own words. */
  constructor(timeoutMs: number, detail = `no answer within ${timeoutMs} ms`) {
    super(detail);
    this.timeoutMs = timeoutMs;
  }
}

/**
 * The answer's body is longer than the exchange's `maxResponseBytes`: announced by
 * `Content-Length` (refused before reading) or counted while streaming (reading stops there).
 */
export class OutboundResponseTooLargeError extends OutboundHttpError {
  /** The cap that was exceeded, in bytes. */
  readonly maxResponseBytes: number;
  /** The status of the answer that was too large. */
  readonly status: number;

  constructor(maxResponseBytes: number, status: number) {
    super(`answer is larger than ${maxResponseBytes} bytes`);
    this.maxResponseBytes = maxResponseBytes;
    this.status = status;
  }
}

/** undici's codes for a deadline of its own that passed (headers or body too slow, connecting too slow). */
const UNDICI_TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/** undici's codes for a connection that closed under a request, or a pool closed for shutdown. */
const UNDICI_CLOSED_CODES = new Set(['UND_ERR_SOCKET', 'UND_ERR_DESTROYED', 'UND_ERR_CLOSED', 'UND_ERR_ABORTED']);

/** What a connection that closed is reported as: before the answer began, in Node's words. */
const HUNG_UP = 'socket hang up';
/** What a connection that closed is reported as once the answer had begun. */
const INCOMPLETE_ANSWER = 'connection closed before the answer was complete';

/**
 * Classifies an error of the socket or the request, seen before the whole answer arrived;
 * `answerBegan` tells a request left unanswered from an answer cut short.
 */
export function transportErrorOf(error: SystemError, timeoutMs: number, answerBegan = false): OutboundHttpError {
  if (error.code && TIMEOUT_CODES.has(error.code)) return new OutboundTimeoutError(timeoutMs, error.message);
  if (error.code && UNDICI_TIMEOUT_CODES.has(error.code)) return new OutboundTimeoutError(timeoutMs);
  if (error.code && UNDICI_CLOSED_CODES.has(error.code)) {
    const closed = new Error(answerBegan ? INCOMPLETE_ANSWER : HUNG_UP, { cause: error });
    return new OutboundConnectionError(Object.assign(closed, { code: 'ECONNRESET' }));
  }
  return new OutboundConnectionError(error);
}
