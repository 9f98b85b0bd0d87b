import type { OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '@app/config';
import { OutboundHttp, OutboundHttpError } from '@app/outbound-http';
import { classifyTransportError } from './telegram-response';

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
 * one host, so one keep-alive {@link OutboundHttp} pool serves them all). A request that fails on a
 * reused socket the server had closed meanwhile is sent once more on another socket: it never
 * reached Telegram.
 */
export class TelegramTransport implements OnApplicationShutdown {
  private readonly http: OutboundHttp;

  constructor(readonly options: TelegramTransportOptions) {
    this.http = new OutboundHttp({ baseUrl: options.baseUrl, timeoutMs: options.timeoutMs, keepAlive: true });
  }

  static fromConfig(this: void, config: AppConfig): TelegramTransport {
    return new TelegramTransport({ baseUrl: config.telegram.apiBaseUrl, timeoutMs: config.telegram.timeoutMs });
  }

  /** Deadline of one exchange, in milliseconds. */
  get timeoutMs(): number {
    return this.options.timeoutMs;
  }

  onApplicationShutdown(): void {
    this.http.close();
  }

  /** Sends one request; resolves with any complete answer, rejects with a `TelegramError`. */
  async exchange(call: TelegramExchange): Promise<TelegramAnswer> {
    try {
      const { status, statusText, body } = await this.http.exchange({
        method: call.httpMethod,
        path: call.path,
        headers: call.headers,
        body: call.body,
        maxResponseBytes: call.maxBytes,
      });
      return { status, statusText, body };
    } catch (error) {
      throw error instanceof OutboundHttpError ? classifyTransportError(call.method, error, call.token) : error;
    }
  }
}
