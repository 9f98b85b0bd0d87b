import * as http from 'node:http';
import * as https from 'node:https';
import { performance } from 'node:perf_hooks';
import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { AppConfig } from '@app/config';
import { bodyExcerpt } from './elevenlabs-error-text';
import {
  ElevenLabsConnectionError,
  ElevenLabsError,
  ElevenLabsInvalidResponseError,
  ElevenLabsNotConfiguredError,
  ElevenLabsTimeoutError,
  type ElevenLabsOperation,
} from './elevenlabs.errors';

/**
 * How long an idle keep-alive socket is kept, in milliseconds. Node lowers it to the server's
 * `Keep-Alive: timeout=N` hint minus one second, so a socket is dropped before the server closes it.
 */
const IDLE_SOCKET_TIMEOUT_MS = 30_000;

/** Errors of a reused socket that the server had already closed: the request never reached it. */
const STALE_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE']);

/** System error codes that mean the deadline passed below us (a connect timeout of the OS). */
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT']);

export interface ElevenLabsHttpOptions {
  /** ElevenLabs' base URL without a trailing slash (`ELEVENLABS_API_BASE_URL`). */
  baseUrl: string;
  /** Sent as `xi-api-key`; blank or absent means not configured. Never logged. */
  apiKey: string | undefined;
  /** Deadline of one exchange — connecting, uploading and reading the whole answer — in milliseconds. */
  timeoutMs: number;
}

/** One POST to ElevenLabs. */
export interface ElevenLabsCall {
  operation: ElevenLabsOperation;
  /** Path and query, e.g. `/v1/speech-to-text`. Must hold no secret: it is logged. */
  path: string;
  contentType: string;
  accept: string;
  body: Buffer;
  /** Largest answer body read, in bytes; a longer one fails with `ElevenLabsInvalidResponseError`. */
  maxResponseBytes: number;
}

/** A complete answer of any status. */
export interface ElevenLabsAnswer {
  status: number;
  /** The `Content-Type` header, `''` when absent. */
  contentType: string;
  body: Buffer;
}

/**
 * The HTTP transport both ElevenLabs ports share: one keep-alive connection pool per process,
 * `xi-api-key` on every request, one deadline per exchange, a cap on the bytes read, and one log
 * line per call (never the key, the request body or audio). A request that fails on a reused socket
 * the server had closed meanwhile is sent again on another socket; every other failure is reported
 * as it is.
 */
export class ElevenLabsHttp implements OnApplicationShutdown {
  private readonly logger = new Logger('ElevenLabs');
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;

  constructor(private readonly options: ElevenLabsHttpOptions) {
    const secure = options.baseUrl.startsWith('https:');
    this.transport = secure ? https : http;
    const agentOptions = { keepAlive: true, timeout: IDLE_SOCKET_TIMEOUT_MS };
    this.agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  }

  static fromConfig(config: AppConfig): ElevenLabsHttp {
    return new ElevenLabsHttp({
      baseUrl: config.elevenLabs.apiBaseUrl,
      apiKey: config.elevenLabs.apiKey,
      timeoutMs: config.elevenLabs.timeoutMs,
    });
  }

  /** Whether an API key is configured. */
  get isConfigured(): boolean {
    return Boolean(this.options.apiKey?.trim());
  }

  /**
   * Sends `call` and hands the complete answer to `interpret`, whose result it resolves with.
   * Transport failures become `ElevenLabsConnectionError`, `ElevenLabsTimeoutError` or
   * `ElevenLabsInvalidResponseError` (answer too large); whatever `interpret` throws is passed on.
   * Either way one line is logged; an error answer's body is logged up to 500 characters.
   * @throws ElevenLabsNotConfiguredError without an API key, before anything is sent
   */
  async post<T>(call: ElevenLabsCall, interpret: (answer: ElevenLabsAnswer) => T): Promise<T> {
    if (!this.isConfigured) throw new ElevenLabsNotConfiguredError(call.operation);
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    let answer: ElevenLabsAnswer | undefined;
    try {
      answer = await this.exchange(call);
      const result = interpret(answer);
      this.logger.log(
        `ElevenLabs POST ${call.path} → ${answer.status} in ${elapsed()} ms ` +
          `(sent ${call.body.length} bytes, received ${answer.body.length} bytes)`,
      );
      return result;
    } catch (error) {
      const description = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      const outcome = answer ? `→ ${answer.status} in ${elapsed()} ms` : `failed after ${elapsed()} ms`;
      const failedAnswer = answer && (answer.status < 200 || answer.status >= 300) ? answer : undefined;
      const body = failedAnswer ? `; response body: ${bodyExcerpt(failedAnswer.body.toString('utf8'))}` : '';
      this.logger.warn(`ElevenLabs POST ${call.path} ${outcome}: ${description}${body}`);
      throw error;
    }
  }

  onApplicationShutdown(): void {
    this.agent.destroy();
  }

  private exchange(call: ElevenLabsCall): Promise<ElevenLabsAnswer> {
    const { operation } = call;
    return new Promise((resolve, reject) => {
      const request = this.transport.request(`${this.options.baseUrl}${call.path}`, {
        method: 'POST',
        agent: this.agent,
        headers: {
          'Content-Type': call.contentType,
          Accept: call.accept,
          'Content-Length': call.body.length,
          'xi-api-key': this.options.apiKey,
        },
      });
      let answered = false;
      let settled = false;
      // Settle first, then destroy: destroying a request whose answer has started also closes the
      // response, which would otherwise be reported as a broken connection.
      const abort = (error: ElevenLabsError): void => {
        fail(error);
        request.destroy();
      };
      const deadline = setTimeout(
        () => abort(new ElevenLabsTimeoutError(operation, this.options.timeoutMs)),
        this.options.timeoutMs,
      );
      const fail = (error: Error & { code?: string }): void => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        if (error instanceof ElevenLabsError) return reject(error);
        if (!answered && request.reusedSocket && error.code && STALE_SOCKET_CODES.has(error.code)) {
          this.exchange(call).then(resolve, reject);
          return;
        }
        if (error.code && TIMEOUT_CODES.has(error.code)) {
          return reject(new ElevenLabsTimeoutError(operation, this.options.timeoutMs, error.message));
        }
        reject(new ElevenLabsConnectionError(operation, error));
      };
      request.on('response', (response) => {
        answered = true;
        const status = response.statusCode ?? 0;
        const tooLarge = () =>
          abort(
            new ElevenLabsInvalidResponseError(
              operation,
              status,
              `ElevenLabs answer is larger than ${call.maxResponseBytes} bytes`,
            ),
          );
        if (Number(response.headers['content-length'] ?? 0) > call.maxResponseBytes) return tooLarge();
        const chunks: Buffer[] = [];
        let received = 0;
        response.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received > call.maxResponseBytes) return tooLarge();
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
          resolve({ status, contentType: response.headers['content-type'] ?? '', body: Buffer.concat(chunks) });
        });
      });
      request.on('error', fail);
      request.end(call.body);
    });
  }
}
