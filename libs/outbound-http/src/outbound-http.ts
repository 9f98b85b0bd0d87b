import * as http from 'node:http';
import * as https from 'node:https';
import {
  OutboundConnectionError,
  OutboundResponseTooLargeError,
  OutboundTimeoutError,
  transportErrorOf,
  type SystemError,
} from './outbound-http.errors';

/**
 * How long an idle keep-alive socket is kept, in milliseconds. Node lowers it to the server's
 * `Keep-Alive: timeout=N` hint minus one second, so a socket is dropped before the server closes it.
 */
const IDLE_SOCKET_TIMEOUT_MS = 30_000;

/** Errors of a reused socket that the server had already closed: the request never reached it. */
const STALE_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE']);

/** What the answer's socket reports when it closes before the last byte of the body. */
const INCOMPLETE_ANSWER = 'connection closed before the answer was complete';

export interface OutboundHttpOptions {
  /** The upstream's base URL (`http:` or `https:`) without a trailing slash; request paths are appended. */
  baseUrl: string;
  /** Deadline of one exchange — connecting, sending, a resend and reading the whole answer — in milliseconds. */
  timeoutMs: number;
  /** Most sockets open to the upstream at once; further exchanges wait for a free one. Default: no limit. */
  maxSockets?: number;
  /**
   * Whether sockets stay open between exchanges for reuse. Idle ones are closed after 30 s, or
   * a second before the server's `Keep-Alive: timeout` hint, whichever is sooner.
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
  headers?: http.OutgoingHttpHeaders;
  /** The body, sent as is (a string as UTF-8); none when absent. */
  body?: Buffer | string;
  /** This exchange's deadline in milliseconds; default the upstream's `timeoutMs`. */
  timeoutMs?: number;
  /** Largest answer body read, in bytes; a longer one fails with `OutboundResponseTooLargeError`. Default: no cap. */
  maxResponseBytes?: number;
}

/** A complete answer of any status. */
export interface OutboundResponse {
  status: number;
  /** The reason phrase the server sent (`Not Found`), `''` when none. */
  statusText: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/**
 * HTTP/1.1 to one upstream over its own connection pool. Each {@link exchange} sends one request
 * and resolves with the complete answer, whatever its status; it rejects with an
 * `OutboundConnectionError`, `OutboundTimeoutError` or `OutboundResponseTooLargeError` when no
 * complete, acceptable answer arrived (a request Node refuses to build — a malformed header —
 * rejects with Node's own error). A request that fails on a reused keep-alive socket before any
 * answer — the server had closed it meanwhile, so the request never reached it — is sent once
 * more on another socket, within the same deadline; every other failure is reported as it is.
 */
export class OutboundHttp {
  private readonly agent: http.Agent;
  private readonly protocol: typeof http | typeof https;
  private closed = false;

  constructor(private readonly options: OutboundHttpOptions) {
    const secure = options.baseUrl.startsWith('https:');
    this.protocol = secure ? https : http;
    const agentOptions: http.AgentOptions = {
      keepAlive: options.keepAlive,
      maxSockets: options.maxSockets,
      timeout: IDLE_SOCKET_TIMEOUT_MS,
    };
    this.agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  }

  /** Sends `request` and resolves with the complete answer of any status. */
  exchange(request: OutboundRequest): Promise<OutboundResponse> {
    const timeoutMs = request.timeoutMs ?? this.options.timeoutMs;
    const body = typeof request.body === 'string' ? Buffer.from(request.body) : request.body;
    const headers = body ? { ...request.headers, 'Content-Length': body.length } : request.headers;
    const cap = request.maxResponseBytes;
    return new Promise((resolve, reject) => {
      let settled = false;
      let current: http.ClientRequest | undefined;
      // Settle first, then destroy: destroying a request whose answer has started also closes the
      // answer, which would otherwise be reported as a broken connection.
      const fail = (error: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        reject(error);
        current?.destroy();
      };
      const succeed = (response: OutboundResponse): void => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        resolve(response);
      };
      const deadline = setTimeout(() => fail(new OutboundTimeoutError(timeoutMs)), timeoutMs);

      const send = (mayResend: boolean): void => {
        const outgoing = this.protocol.request(`${this.options.baseUrl}${request.path}`, {
          method: request.method,
          agent: this.agent,
          headers,
        });
        current = outgoing;
        let answered = false;
        const broken = (error: SystemError): void => {
          if (settled) return;
          const stale = outgoing.reusedSocket && error.code !== undefined && STALE_SOCKET_CODES.has(error.code);
          if (stale && !answered && mayResend && !this.closed) return send(false);
          fail(transportErrorOf(error, timeoutMs));
        };
        outgoing.on('error', broken);
        outgoing.on('response', (response) => {
          answered = true;
          const status = response.statusCode ?? 0;
          // No 'error' listener on the answer: without one Node reports a cut-short answer only by
          // 'close' with `complete` false, and this names it better than Node's "aborted".
          response.on('close', () => {
            if (!response.complete) broken(Object.assign(new Error(INCOMPLETE_ANSWER), { code: 'ECONNRESET' }));
          });
          if (cap !== undefined && Number(response.headers['content-length'] ?? 0) > cap) {
            return fail(new OutboundResponseTooLargeError(cap, status));
          }
          const chunks: Buffer[] = [];
          let received = 0;
          response.on('data', (chunk: Buffer) => {
            received += chunk.length;
            if (cap !== undefined && received > cap) return fail(new OutboundResponseTooLargeError(cap, status));
            chunks.push(chunk);
          });
          response.on('end', () => {
            const statusText = response.statusMessage ?? '';
            succeed({ status, statusText, headers: response.headers, body: Buffer.concat(chunks) });
          });
        });
        outgoing.end(body);
      };
      send(true);
    });
  }

  /**
   * Closes every socket, idle or in use, for shutdown. An exchange whose socket is closed fails
   * with an {@link OutboundConnectionError} and is not sent again.
   */
  close(): void {
    this.closed = true;
    this.agent.destroy();
  }
}
