import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { buildConnector, Pool, type Dispatcher } from 'undici';
import {
  OutboundResponseTooLargeError,
  OutboundTimeoutError,
  transportErrorOf,
  type SystemError,
} from './outbound-http.errors';

/** How long an idle keep-alive socket is kept, in milliseconds; undici lowers it to the server's `Keep-Alive: timeout` hint. */
const IDLE_SOCKET_TIMEOUT_MS = 30_000;

export interface OutboundHttpOptions {
  /** The upstream's base URL (`http:` or `https:`) without a trailing slash; request paths are appended. */
  baseUrl: string;
  /** Deadline of one exchange — connecting, sending, a resend and reading the whole answer — in milliseconds. */
  timeoutMs: number;
  /** Most sockets open to the upstream at once; further exchanges wait for a free one. Default: no limit. */
  maxSockets?: number;
  /**
   * Whether sockets stay open between exchanges for reuse. Idle ones are closed after 30 s, or
   * before the server's `Keep-Alive: timeout` hint, whichever is sooner.
   */
  keepAlive: boolean;
}

/** One request to the upstream. */
export interface OutboundRequest {
  /** HTTP method: `GET`, `POST`, … */
  method: string;
  /** Path and query appended to the base URL, e.g. `/v1/speech-to-text`. */
  path: string;
  /** Request headers; `Content-Length` is set from `body`. */
  headers?: OutgoingHttpHeaders;
  /** The body, sent as is (a string as UTF-8); none when absent. */
  body?: Buffer | string;
  /** This exchange's deadline in milliseconds; default the upstream's `timeoutMs`. */
  timeoutMs?: number;
  /** Largest answer body read, in bytes; a longer one fails with `OutboundResponseTooLargeError`. Default: no cap. */
  maxResponseBytes?: number;
  /**
   * Never send this request a second time, not even after a reused socket broke before any answer:
   * the upstream may have read it just before the socket broke (it crashed, or a proxy reset the
   * connection), and a request that starts work must not start it twice. Default: sent once more.
   */
  sendOnce?: boolean;
}

/** A complete answer of any status. */
export interface OutboundResponse {
  status: number;
  /** The reason phrase the server sent (`Not Found`), `''` when none. */
  statusText: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * HTTP/1.1 to one upstream over its own undici `Pool` (keep-alive connections, idle ones dropped
 * before the server's `Keep-Alive` hint). Each {@link exchange} sends one request and resolves with
 * the complete answer, whatever its status; it rejects with an `OutboundConnectionError`,
 * `OutboundTimeoutError` or `OutboundResponseTooLargeError` when no complete, acceptable answer
 * arrived (a request undici refuses to build — a malformed header — rejects with undici's own
 * error). A request that fails on a reused keep-alive socket before any answer — most often the
 * server had closed it meanwhile, so the request never reached it — is sent once more, within the
 * same deadline, unless it is marked `sendOnce`; every other failure is reported as it is.
 *
 * undici's own retry interceptor was weighed for the resend: it cannot tell a reused socket from a
 * new one, and it resumes cut-short answers with `Range`, which these upstreams do not serve. Its
 * `maxResponseSize` is one cap per pool, while the cap here is per exchange, so the body is
 * counted while it streams.
 */
export class OutboundHttp {
  private readonly pool: Pool;
  /** The base URL's own path (`/api` of `http://host/api`), put before each request's path; `''` for none. */
  private readonly basePath: string;
  /** Errors of sockets that had carried an earlier answer before they broke: most likely closed while idle, before the request. */
  private readonly staleSocketErrors = new WeakSet<Error>();
  private closed = false;

  constructor(private readonly options: OutboundHttpOptions) {
    const base = new URL(options.baseUrl);
    this.basePath = base.pathname.replace(/\/+$/, '');
    const connector = buildConnector({ timeout: options.timeoutMs });
    this.pool = new Pool(base.origin, {
      connections: options.maxSockets ?? null,
      pipelining: options.keepAlive ? 1 : 0,
      keepAliveTimeout: IDLE_SOCKET_TIMEOUT_MS,
      keepAliveMaxTimeout: IDLE_SOCKET_TIMEOUT_MS,
      connect: (connectOptions, callback) =>
        connector(connectOptions, (error, socket) => {
          if (socket) this.watchForStaleness(socket);
          // The union of the callback's two shapes does not spread; each branch is one of them.
          if (error) callback(error, null);
          else callback(null, socket as Socket);
        }),
    });
  }

  /** Sends `request` and resolves with the complete answer of any status. */
  async exchange(request: OutboundRequest): Promise<OutboundResponse> {
    const timeoutMs = request.timeoutMs ?? this.options.timeoutMs;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new OutboundTimeoutError(timeoutMs)), timeoutMs);
    try {
      try {
        return await this.send(request, timeoutMs, deadline.signal);
      } catch (error) {
        if (request.sendOnce || !this.mayResend(error, deadline.signal)) throw error;
        return await this.send(request, timeoutMs, deadline.signal);
      }
    } catch (error) {
      if (deadline.signal.aborted) throw deadline.signal.reason;
      throw error instanceof UnansweredError || error instanceof CutShortError
        ? transportErrorOf(error.cause, timeoutMs, error instanceof CutShortError)
        : error;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Closes every socket, idle or in use, for shutdown. An exchange whose socket is closed fails
   * with an {@link OutboundConnectionError} and is not sent again.
   */
  close(): void {
    this.closed = true;
    void this.pool.destroy();
  }

  private mayResend(error: unknown, deadline: AbortSignal): boolean {
    return (
      error instanceof UnansweredError && this.staleSocketErrors.has(error.cause) && !deadline.aborted && !this.closed
    );
  }

  /** Marks the errors of `socket` that come after it carried an answer (its first bytes read). */
  private watchForStaleness(socket: Socket): void {
    socket.prependListener('error', (error: Error) => {
      if (socket.bytesRead > 0) this.staleSocketErrors.add(error);
    });
  }

  private send(request: OutboundRequest, timeoutMs: number, deadline: AbortSignal): Promise<OutboundResponse> {
    const options: Dispatcher.DispatchOptions = {
      method: request.method as Dispatcher.HttpMethod,
      path: this.basePath + request.path,
      headers: headersOf(request.headers),
      body: request.body,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      reset: !this.options.keepAlive,
    };
    return new Promise((resolve, reject) => {
      this.pool.dispatch(options, new AnswerCollector(request.maxResponseBytes, deadline, resolve, reject));
    });
  }
}

/** Failed before the answer's status line: the request may never have reached the server. */
class UnansweredError extends Error {
  constructor(override readonly cause: SystemError) {
    super(cause.message);
  }
}

/** Failed after the answer had begun: the server got the request. */
class CutShortError extends Error {
  constructor(override readonly cause: SystemError) {
    super(cause.message);
  }
}

/** Collects one answer from undici's dispatch callbacks, enforcing the size cap and the deadline. */
class AnswerCollector implements Dispatcher.DispatchHandler {
  private answer?: Omit<OutboundResponse, 'body'>;
  private readonly chunks: Buffer[] = [];
  private received = 0;
  private settled = false;

  constructor(
    private readonly maxBytes: number | undefined,
    private readonly deadline: AbortSignal,
    private readonly resolve: (answer: OutboundResponse) => void,
    private readonly reject: (error: Error) => void,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    if (this.deadline.aborted) return controller.abort(this.deadline.reason as Error);
    this.deadline.addEventListener('abort', () => controller.abort(this.deadline.reason as Error), { once: true });
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    status: number,
    headers: IncomingHttpHeaders,
    statusText?: string,
  ): void {
    this.answer = { status, statusText: statusText ?? '', headers };
    if (this.maxBytes !== undefined && Number(headers['content-length'] ?? 0) > this.maxBytes) {
      this.fail(new OutboundResponseTooLargeError(this.maxBytes, status));
      controller.abort(new OutboundResponseTooLargeError(this.maxBytes, status));
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.received += chunk.length;
    if (this.answer && this.maxBytes !== undefined && this.received > this.maxBytes) {
      this.fail(new OutboundResponseTooLargeError(this.maxBytes, this.answer.status));
      return controller.abort(new OutboundResponseTooLargeError(this.maxBytes, this.answer.status));
    }
    this.chunks.push(chunk);
  }

  /**
   * undici frees a keep-alive connection on the `setImmediate` it schedules right after this call
   * (to notice a server that closes it anyway); resolving on an immediate queued behind that one
   * lets the caller's next exchange reuse the connection instead of opening another.
   */
  onResponseEnd(): void {
    if (this.settled || !this.answer) return;
    this.settled = true;
    const answer = { ...this.answer, body: Buffer.concat(this.chunks) };
    process.nextTick(() => setImmediate(() => this.resolve(answer)));
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: SystemError): void {
    if (error instanceof OutboundResponseTooLargeError || error instanceof OutboundTimeoutError) return this.fail(error);
    this.fail(this.answer ? new CutShortError(error) : new UnansweredError(error));
  }

  private fail(error: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.reject(error);
  }
}

/** Node's outgoing header shape as undici takes it: numbers as strings, absent values left out. */
function headersOf(headers: OutgoingHttpHeaders = {}): Record<string, string | string[]> {
  const sent: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) sent[name] = typeof value === 'number' ? String(value) : value;
  }
  return sent;
}
