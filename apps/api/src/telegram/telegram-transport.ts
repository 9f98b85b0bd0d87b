import * as http from 'node:http';
import * as https from 'node:https';
import type { OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '@app/config';
import { TelegramFileTooLargeError, TelegramTimeoutError } from './telegram.errors';
import { classifyTransportError } from './telegram-response';

/**
 * How long an idle keep-alive socket is kept, in milliseconds. Node lowers it to the server's
 * `Keep-Alive: timeout=N` hint minus one second, so a socket is dropped before the server closes it.
 */
const IDLE_SOCKET_TIMEOUT_MS = 30_000;

/** Errors of a reused socket that the server had already closed: the request never reached it. */
const STALE_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE']);

export interface TelegramTransportOptions {
  /** `TELEGRAM_API_BASE_URL` without a trailing slash. */
  baseUrl: string;
  /** Deadline of one exchange — connecting, sending and reading the whole answer — in milliseconds. */
  timeoutMs: number;
}

/** One HTTP exchange with the Bot API. `path` contains the token: it is never logged or quoted. */
export interface TelegramExchange {
  /** Bot API method, or `download`: what errors and logs name. */
  method: string;
  httpMethod: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string | number>;
  body?: Buffer;
  /** The token in `path`, removed from any error message. */
  token: string;
  /** Largest answer body accepted, in bytes (larger: `TelegramFileTooLargeError`). */
  maxBytes?: number;
}

export interface TelegramAnswer {
  status: number;
  statusText: string;
  body: Buffer;
}

/**
 * The HTTP/1.1 connection pool to the Bot API host, shared by every bot's client (they all talk to
 * one host, so one keep-alive pool serves them all). A request that fails on a reused socket the
 * server had closed meanwhile is sent again on another socket: it never reached Telegram.
 */
export class TelegramTransport implements OnApplicationShutdown {
  private readonly agent: http.Agent;
  private readonly protocol: typeof http | typeof https;

  constructor(readonly options: TelegramTransportOptions) {
    const secure = options.baseUrl.startsWith('https:');
    this.protocol = secure ? https : http;
    const agentOptions = { keepAlive: true, timeout: IDLE_SOCKET_TIMEOUT_MS };
    this.agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  }

  static fromConfig(config: AppConfig): TelegramTransport {
    return new TelegramTransport({ baseUrl: config.telegram.apiBaseUrl, timeoutMs: config.telegram.timeoutMs });
  }

  /** Deadline of one exchange, in milliseconds. */
  get timeoutMs(): number {
    return this.options.timeoutMs;
  }

  onApplicationShutdown(): void {
    this.agent.destroy();
  }

  /** Sends one request; resolves with any complete answer, rejects with a `TelegramError`. */
  exchange(call: TelegramExchange): Promise<TelegramAnswer> {
    return new Promise((resolve, reject) => {
      const request = this.protocol.request(`${this.options.baseUrl}${call.path}`, {
        method: call.httpMethod,
        agent: this.agent,
        headers: { ...call.headers, ...(call.body ? { 'Content-Length': call.body.length } : {}) },
      });
      let answered = false;
      let settled = false;
      const deadline = setTimeout(
        () => request.destroy(new TelegramTimeoutError(call.method, this.options.timeoutMs)),
        this.options.timeoutMs,
      );
      const fail = (error: Error & { code?: string }): void => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        if (!answered && request.reusedSocket && error.code && STALE_SOCKET_CODES.has(error.code)) {
          this.exchange(call).then(resolve, reject);
          return;
        }
        reject(classifyTransportError(call.method, error, this.options.timeoutMs, call.token));
      };
      request.on('response', (response) => {
        answered = true;
        const chunks: Buffer[] = [];
        let received = 0;
        response.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (call.maxBytes !== undefined && received > call.maxBytes) {
            request.destroy(new TelegramFileTooLargeError(call.maxBytes));
            return;
          }
          chunks.push(chunk);
        });
        response.on('error', fail);
        response.on('close', () => {
          if (!response.complete) {
            fail(Object.assign(new Error('connection closed before the answer was complete'), { code: 'ECONNRESET' }));
          }
        });
        response.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(deadline);
          resolve({
            status: response.statusCode ?? 0,
            statusText: response.statusMessage ?? '',
            body: Buffer.concat(chunks),
          });
        });
      });
      request.on('error', fail);
      request.end(call.body);
    });
  }
}
