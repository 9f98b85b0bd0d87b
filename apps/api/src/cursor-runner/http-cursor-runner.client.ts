import * as http from 'node:http';
import * as https from 'node:https';
import { performance } from 'node:perf_hooks';
import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { AppConfig } from '@app/config';
import { CursorRunnerClient, type CursorRunnerReply, type CursorRunnerTask } from './cursor-runner.client';
import { CursorRunnerError, CursorRunnerTimeoutError, type CursorRunnerCall } from './cursor-runner.errors';
import { classifyTransportError, interpretResponse } from './cursor-runner-response';
import { newRequestId } from './request-id';

/** Path of this service's callback route, where cursor-runner POSTs results of async runs. */
export const CURSOR_RUNNER_CALLBACK_PATH = '/cursor-runner/callback';

/**
 * How long an idle keep-alive socket is kept, in milliseconds. Node lowers it to the server's
 * `Keep-Alive: timeout=N` hint minus one second, so a socket is dropped before the server closes it.
 */
const IDLE_SOCKET_TIMEOUT_MS = 30_000;

/** Errors of a reused socket that the server had already closed: the request never reached it. */
const STALE_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE']);

export interface HttpCursorRunnerClientOptions {
  /** cursor-runner's base URL without a trailing slash (`CURSOR_RUNNER_URL`). */
  baseUrl: string;
  /** Deadline of one exchange — connecting, sending and reading the whole answer — in milliseconds. */
  timeoutMs: number;
  /** Sent as `X-Webhook-Secret`; equals cursor-runner's `WEBHOOK_SECRET` (`WEBHOOK_SECRET` here). */
  webhookSecret: string;
  /** Full callback URL sent with async runs; it carries the secret, so it is never logged. */
  callbackUrl: string;
}

interface RawAnswer {
  status: number;
  text: string;
}

/** The callback URL cursor-runner is given: `<callback base>/cursor-runner/callback?secret=<WEBHOOK_SECRET>`. */
export function callbackUrlFor(config: AppConfig): string {
  // cursor-runner moves `?secret=` into X-Webhook-Secret and X-Cursor-Runner-Secret and strips it
  // from the URL before calling back (domain.md §6.4), so the callback authenticates even when
  // cursor-runner has no WEBHOOK_SECRET of its own.
  const url = new URL(`${config.cursorRunner.callbackBaseUrl}${CURSOR_RUNNER_CALLBACK_PATH}`);
  url.searchParams.set('secret', config.secrets.webhook);
  return url.toString();
}

/**
 * cursor-runner over HTTP/1.1 with keep-alive connections (one pool per process), JSON bodies and
 * `X-Webhook-Secret` on every request. A request that fails on a reused socket the server had
 * closed meanwhile is sent again on another socket; every other failure is reported as it is.
 */
export class HttpCursorRunnerClient extends CursorRunnerClient implements OnApplicationShutdown {
  private readonly logger = new Logger('CursorRunnerClient');
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;

  constructor(private readonly options: HttpCursorRunnerClientOptions) {
    super();
    const secure = options.baseUrl.startsWith('https:');
    this.transport = secure ? https : http;
    const agentOptions = { keepAlive: true, timeout: IDLE_SOCKET_TIMEOUT_MS };
    this.agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  }

  static fromConfig(config: AppConfig): HttpCursorRunnerClient {
    return new HttpCursorRunnerClient({
      baseUrl: config.cursorRunner.url,
      timeoutMs: config.cursorRunner.timeoutSeconds * 1000,
      webhookSecret: config.secrets.webhook,
      callbackUrl: callbackUrlFor(config),
    });
  }

  execute(task: CursorRunnerTask): Promise<CursorRunnerReply> {
    return this.post('/cursor/execute', bodyOf(task));
  }

  executeAsync(task: CursorRunnerTask): Promise<CursorRunnerReply> {
    return this.post('/cursor/execute/async', { ...bodyOf(task), callbackUrl: this.options.callbackUrl });
  }

  onApplicationShutdown(): void {
    this.agent.destroy();
  }

  private async post(path: string, payload: RequestBody): Promise<CursorRunnerReply> {
    const call: CursorRunnerCall = { method: 'POST', path };
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    try {
      const answer = await this.exchange(call, Buffer.from(JSON.stringify(payload)));
      const reply = interpretResponse(call, answer.status, answer.text);
      this.logger.log(`cursor-runner POST ${path} → ${answer.status} in ${elapsed()} ms (request ${payload.id})`);
      return reply;
    } catch (error) {
      const description = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      this.logger.warn(`cursor-runner POST ${path} failed after ${elapsed()} ms (request ${payload.id}): ${description}`);
      throw error;
    }
  }

  private exchange(call: CursorRunnerCall, body: Buffer): Promise<RawAnswer> {
    return new Promise((resolve, reject) => {
      const request = this.transport.request(`${this.options.baseUrl}${call.path}`, {
        method: call.method,
        agent: this.agent,
        headers: {
          'Content-Type': 'application/json',
          Accept: 'application/json',
          'Content-Length': body.length,
          'X-Webhook-Secret': this.options.webhookSecret,
        },
      });
      let answered = false;
      let settled = false;
      const deadline = setTimeout(
        () => request.destroy(new CursorRunnerTimeoutError(call, this.options.timeoutMs)),
        this.options.timeoutMs,
      );
      const fail = (error: Error & { code?: string }): void => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        if (error instanceof CursorRunnerError) return reject(error);
        if (!answered && request.reusedSocket && error.code && STALE_SOCKET_CODES.has(error.code)) {
          this.exchange(call, body).then(resolve, reject);
          return;
        }
        reject(classifyTransportError(call, error, this.options.timeoutMs));
      };
      request.on('response', (response) => {
        answered = true;
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
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
          resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
        });
      });
      request.on('error', fail);
      request.end(body);
    });
  }
}

interface RequestBody {
  id: string;
  repository?: string;
  branchName?: string;
  prompt: string;
  callbackUrl?: string;
}

function bodyOf(task: CursorRunnerTask): RequestBody {
  return {
    id: task.id ?? newRequestId(),
    repository: task.repository,
    branchName: task.branchName,
    prompt: task.prompt,
  };
}
