import { performance } from 'node:perf_hooks';
import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { AppConfig } from '@app/config';
import {
  OutboundHttp,
  OutboundHttpError,
  OutboundResponseTooLargeError,
  OutboundTimeoutError,
} from '@app/outbound-http';
import { bodyExcerpt } from './elevenlabs-error-text';
import {
  ElevenLabsConnectionError,
  ElevenLabsError,
  ElevenLabsInvalidResponseError,
  ElevenLabsNotConfiguredError,
  ElevenLabsTimeoutError,
  type ElevenLabsOperation,
} from './elevenlabs.errors';

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
 * The HTTP transport both ElevenLabs ports share: one keep-alive {@link OutboundHttp} pool per
 * process, `xi-api-key` on every request, one deadline per exchange, a cap on the bytes read, and
 * one log line per call (never the key, the request body or audio). A request that fails on a
 * reused socket the server had closed meanwhile is sent once more on another socket; every other
 * failure is reported as it is.
 */
export class ElevenLabsHttp implements OnApplicationShutdown {
  private readonly logger = new Logger('ElevenLabs');
  private readonly http: OutboundHttp;

  constructor(private readonly options: ElevenLabsHttpOptions) {
    this.http = new OutboundHttp({ baseUrl: options.baseUrl, timeoutMs: options.timeoutMs, keepAlive: true });
  }

  static fromConfig(this: void, config: AppConfig): ElevenLabsHttp {
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

  /**
   * An error answer with the API key taken out: its message is logged and shown to the user, and a
   * proxy or a debugging upstream may echo the request's headers into it.
   */
  private withoutKey(body: Buffer): Buffer {
    const key = this.options.apiKey?.trim();
    if (!key) return body;
    const text = body.toString('utf8');
    return text.includes(key) ? Buffer.from(text.replaceAll(key, '[ElevenLabs API key]')) : body;
  }

  onApplicationShutdown(): void {
    this.http.close();
  }

  private async exchange(call: ElevenLabsCall): Promise<ElevenLabsAnswer> {
    try {
      const answer = await this.http.exchange({
        method: 'POST',
        path: call.path,
        headers: { 'Content-Type': call.contentType, Accept: call.accept, 'xi-api-key': this.options.apiKey },
        body: call.body,
        maxResponseBytes: call.maxResponseBytes,
      });
      const failed = answer.status < 200 || answer.status >= 300;
      return { status: answer.status, contentType: answer.headers['content-type'] ?? '', body: failed ? this.withoutKey(answer.body) : answer.body };
    } catch (error) {
      throw error instanceof OutboundHttpError ? elevenLabsErrorOf(call, error) : error;
    }
  }
}

/** The ElevenLabs error for a transport failure (no complete, acceptable answer was received). */
function elevenLabsErrorOf(call: ElevenLabsCall, error: OutboundHttpError): ElevenLabsError {
  if (error instanceof OutboundTimeoutError) {
    return new ElevenLabsTimeoutError(call.operation, error.timeoutMs, error.message);
  }
  if (error instanceof OutboundResponseTooLargeError) {
    return new ElevenLabsInvalidResponseError(
      call.operation,
      error.status,
      `ElevenLabs answer is larger than ${error.maxResponseBytes} bytes`,
    );
  }
  return new ElevenLabsConnectionError(call.operation, error);
}
