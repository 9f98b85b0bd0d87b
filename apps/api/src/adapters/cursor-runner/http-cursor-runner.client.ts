import { performance } from 'node:perf_hooks';
import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { AppConfig } from '@app/config';
import { OutboundHttp, OutboundHttpError, type OutboundResponse } from '@app/outbound-http';
import {
  CursorRunnerClient,
  type CursorRunnerQueue,
  type CursorRunnerReply,
  type CursorRunnerTask,
  type RepositoryFileNode,
} from './cursor-runner.client';
import type { CursorRunnerCall } from './cursor-runner.errors';
import { classifyTransportError, interpretFileTree, interpretResponse } from './cursor-runner-response';
import { newRequestId } from './request-id';

/** Path of this service's callback route, where cursor-runner POSTs results of async runs. */
export const CURSOR_RUNNER_CALLBACK_PATH = '/cursor-runner/callback';

export interface HttpCursorRunnerClientOptions {
  /** cursor-runner's base URL without a trailing slash (`CURSOR_RUNNER_URL`). */
  baseUrl: string;
  /** Deadline of one exchange — connecting, sending and reading the whole answer — in milliseconds. */
  timeoutMs: number;
  /** Sent as `X-Webhook-Secret`; equals cursor-runner's `WEBHOOK_SECRET` (`WEBHOOK_SECRET` here). */
  webhookSecret: string;
  /** Full callback URL sent with async runs; it may carry the secret, so it is never logged. */
  callbackUrl: string;
}

/**
 * The callback URL cursor-runner is given: `<callback base>/cursor-runner/callback`. cursor-runner
 * authenticates its callbacks with its own `WEBHOOK_SECRET` in `X-Webhook-Secret` and
 * `X-Cursor-Runner-Secret` — the secret this service already sends it — and writes the callback URL
 * in plaintext to its logs, so the URL carries no secret. With `CURSOR_RUNNER_CALLBACK_SECRET_IN_URL`
 * it carries `?secret=<WEBHOOK_SECRET>`, which cursor-runner moves into those headers: for a
 * cursor-runner without a secret of its own, at the price of the secret in its logs.
 */
export function callbackUrlFor(config: AppConfig): string {
  const url = new URL(`${config.cursorRunner.callbackBaseUrl}${CURSOR_RUNNER_CALLBACK_PATH}`);
  if (config.cursorRunner.callbackSecretInUrl) url.searchParams.set('secret', config.secrets.webhook);
  return url.toString();
}

/**
 * cursor-runner over HTTP/1.1 with keep-alive connections (one {@link OutboundHttp} pool per
 * process), JSON bodies and `X-Webhook-Secret` on every request. A GET that fails on a reused
 * socket the server had closed meanwhile is sent once more on another socket. A POST never is: it
 * starts a run (or a conversation), cursor-runner may have read it before the socket broke, and
 * nothing tells whether it did — a run must never start twice (docs/operations.md, "Forwarding at
 * most once"). Every failure is reported as it is, as a `CursorRunnerError`.
 */
export class HttpCursorRunnerClient extends CursorRunnerClient implements OnApplicationShutdown {
  private readonly logger = new Logger('CursorRunnerClient');
  private readonly http: OutboundHttp;

  constructor(private readonly options: HttpCursorRunnerClientOptions) {
    super();
    this.http = new OutboundHttp({ baseUrl: options.baseUrl, timeoutMs: options.timeoutMs, keepAlive: true });
  }

  static fromConfig(this: void, config: AppConfig): HttpCursorRunnerClient {
    return new HttpCursorRunnerClient({
      baseUrl: config.cursorRunner.url,
      timeoutMs: config.cursorRunner.timeoutSeconds * 1000,
      webhookSecret: config.secrets.webhook,
      callbackUrl: callbackUrlFor(config),
    });
  }

  execute(task: CursorRunnerTask): Promise<CursorRunnerReply> {
    return this.send({ method: 'POST', path: '/cursor/execute' }, interpretResponse, bodyOf(task));
  }

  executeAsync(task: CursorRunnerTask): Promise<CursorRunnerReply> {
    const body = { ...bodyOf(task), callbackUrl: this.options.callbackUrl };
    return this.send({ method: 'POST', path: '/cursor/execute/async' }, interpretResponse, body);
  }

  newConversation(queueType: CursorRunnerQueue): Promise<CursorRunnerReply> {
    return this.send({ method: 'POST', path: '/cursor/conversation/new' }, interpretResponse, { queueType });
  }

  repositoryFiles(repository: string): Promise<RepositoryFileNode[]> {
    return this.send({ method: 'GET', path: `/repositories/api/${encodeURIComponent(repository)}/files` }, interpretFileTree);
  }

  onApplicationShutdown(): void {
    this.http.close();
  }

  private async send<T>(
    call: CursorRunnerCall,
    interpret: (call: CursorRunnerCall, status: number, text: string) => T,
    payload?: RunBody | { queueType: CursorRunnerQueue },
  ): Promise<T> {
    const started = performance.now();
    const label = `cursor-runner ${call.method} ${call.path}`;
    const request = payload && 'id' in payload ? ` (request ${payload.id})` : '';
    const elapsed = () => Math.round(performance.now() - started);
    try {
      const answer = await this.exchange(call, payload && JSON.stringify(payload));
      const reply = interpret(call, answer.status, answer.body.toString('utf8'));
      this.logger.log(`${label} → ${answer.status} in ${elapsed()} ms${request}`);
      return reply;
    } catch (error) {
      const description = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      this.logger.warn(`${label} failed after ${elapsed()} ms${request}: ${description}`);
      throw error;
    }
  }

  private async exchange(call: CursorRunnerCall, body: string | undefined): Promise<OutboundResponse> {
    try {
      return await this.http.exchange({
        method: call.method,
        path: call.path,
        headers: {
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
          Accept: 'application/json',
          'X-Webhook-Secret': this.options.webhookSecret,
        },
        body,
        sendOnce: call.method === 'POST',
      });
    } catch (error) {
      throw error instanceof OutboundHttpError ? classifyTransportError(call, error) : error;
    }
  }
}

/** The body of a run: what `/cursor/execute[/async]` read. */
interface RunBody {
  id: string;
  repository?: string;
  branchName?: string;
  prompt: string;
  callbackUrl?: string;
}

function bodyOf(task: CursorRunnerTask): RunBody {
  return {
    id: task.id ?? newRequestId(),
    repository: task.repository,
    branchName: task.branchName,
    prompt: task.prompt,
  };
}
