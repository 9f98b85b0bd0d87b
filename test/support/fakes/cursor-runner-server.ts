import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { FakeHttpServer, waitForCount, type FakeReply, type RecordedRequest } from './fake-http-server';

export const EXECUTE = 'POST /cursor/execute';
export const EXECUTE_ASYNC = 'POST /cursor/execute/async';
export const GIT_REPOSITORIES = 'GET /git/repositories';
export const CONVERSATION_NEW = 'POST /cursor/conversation/new';

/** The user agent of cursor-runner's callbacks. */
export const CURSOR_RUNNER_USER_AGENT = 'cursor-runner/1.0';

/** One entry of cursor-runner's repository file tree (`GET /repositories/api/:repository/files`). */
export interface FileNode {
  name: string;
  path: string;
  type: 'file' | 'directory';
  children?: FileNode[];
}

/**
 * What the coding agent did in one run: its stdout, its stderr and its exit code. cursor-runner
 * reports every run that started as `success: true` with these, whatever the exit code.
 */
export interface AgentRun {
  stdout?: string;
  stderr?: string;
  exitCode?: number;
}

/** How the fake finishes an async run: the agent ran, or cursor-runner itself failed (a thrown error). */
export type RunScript = AgentRun | { crash: string };

export interface FakeCursorRunnerOptions {
  /**
   * cursor-runner's `WEBHOOK_SECRET`: when set, `/cursor/execute/async` wants it in `X-Webhook-Secret`
   * or `X-Cursor-Runner-Secret` (or `?secret=`), and callbacks carry it when the callback URL has none.
   */
  webhookSecret?: string;
  /**
   * Serve `GET /git/repositories` with these folders, as cursor-runner builds up to 2025-11-14 did;
   * without it the route is 404 "Route not found", as in current builds.
   */
  repositories?: string[];
  /**
   * The folders under cursor-runner's repositories directory, with their file trees. A run or a
   * file tree request naming another one fails as cursor-runner's does ("not found"). Without it
   * every repository exists and has an empty tree.
   */
  fileTrees?: Record<string, FileNode[]>;
  /**
   * Makes `/cursor/execute/async` behave like cursor-runner: after the acknowledgement it POSTs the
   * run's result to the request's `callbackUrl`, built and authenticated exactly as cursor-runner
   * does. Returns what the agent did for that request. Without it, no callback is sent (a test
   * plays the callback itself).
   */
  run?: (request: { id: string; prompt: string; repository?: string }) => RunScript;
  /** Where the callbacks sent are recorded; pass one to wait for them. */
  callbacks?: CallbackRecorder;
  /**
   * Holds the acknowledgement of `/cursor/execute/async` this long, in milliseconds, as a busy
   * cursor-runner does: a forward stays in flight, for a test to kill the app in the middle of it.
   */
  acknowledgeDelayMs?: number;
}

/** One callback the fake sent and how it was answered. */
export interface SentCallback {
  url: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
  /** The body's size in bytes as sent. */
  bytes: number;
  /** The answer's status, or 0 when the exchange failed (connection refused, reset). */
  status: number;
  answer: string;
}

/** The callbacks a fake cursor-runner sent, in order. */
export class CallbackRecorder {
  readonly sent: SentCallback[] = [];
  private readonly waiters = new Set<() => void>();

  record(callback: SentCallback): void {
    this.sent.push(callback);
    for (const waiter of [...this.waiters]) waiter();
  }

  /** Resolves once `count` callbacks have been answered; rejects after `timeoutMs`. */
  async waitFor(count: number, timeoutMs = 10_000): Promise<SentCallback[]> {
    await waitForCount(this.waiters, () => this.sent.length, count, timeoutMs, 'callbacks');
    return this.sent;
  }

  reset(): void {
    this.sent.length = 0;
  }
}

/**
 * The callback body of a run the agent finished, field for field as cursor-runner builds it:
 * `success` is true whatever the exit code, `error` is the agent's stderr (null when empty),
 * `exitCode` is 0 when the agent gave none, `command` is the agent's argument list. A field that is
 * `undefined` is left out of the JSON, as cursor-runner's `JSON.stringify` does.
 */
export function finishedRunCallback(
  requestId: string,
  run: AgentRun,
  extra: { repository?: string; branchName?: string; prompt?: string; durationMs?: number } = {},
): Record<string, unknown> {
  return {
    success: true,
    requestId,
    repository: extra.repository,
    command: ['--model', 'auto', '--print', '--force', extra.prompt ?? ''],
    output: (run.stdout ?? '').trim(),
    error: (run.stderr ?? '').trim() || null,
    exitCode: run.exitCode || 0,
    duration: `${extra.durationMs ?? 5}ms`,
    timestamp: new Date().toISOString(),
    ...(extra.branchName ? { branchName: extra.branchName } : {}),
  };
}

/**
 * The callback body of a run cursor-runner refused before starting the agent (no prompt, unknown
 * repository): `success: false`, the reason in `error`, `exitCode: 1`, `duration: "0ms"`.
 */
export function refusedRunCallback(requestId: string, error: string, repository?: string): Record<string, unknown> {
  return { success: false, requestId, repository, error, exitCode: 1, duration: '0ms', timestamp: new Date().toISOString() };
}

/** The callback body when cursor-runner itself failed during the run: no exit code, no output. */
export function crashedRunCallback(requestId: string, error: string): Record<string, unknown> {
  return { success: false, requestId, error, timestamp: new Date().toISOString() };
}

/**
 * POSTs a callback as cursor-runner does: JSON, `User-Agent: cursor-runner/1.0`, the secret from
 * the URL's `secret` query parameter (else cursor-runner's own `WEBHOOK_SECRET`) in both
 * `X-Webhook-Secret` and `X-Cursor-Runner-Secret`, the `secret` parameter removed from the URL, a
 * 30 s deadline, no retry.
 */
export function sendCallback(
  callbackUrl: string,
  body: Record<string, unknown>,
  webhookSecret?: string,
): Promise<SentCallback> {
  const url = new URL(callbackUrl);
  const secret = url.searchParams.get('secret') || webhookSecret;
  const headers: Record<string, string> = { 'Content-Type': 'application/json', 'User-Agent': CURSOR_RUNNER_USER_AGENT };
  if (secret) {
    headers['X-Webhook-Secret'] = secret;
    headers['X-Cursor-Runner-Secret'] = secret;
    url.searchParams.delete('secret');
  }
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((resolve) => {
    const sent = { url: url.toString(), headers, body, bytes: payload.length };
    const outgoing = httpRequest(
      url,
      { method: 'POST', headers: { ...headers, 'Content-Length': String(payload.length) }, timeout: 30_000 },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ ...sent, status: response.statusCode ?? 0, answer: Buffer.concat(chunks).toString('utf8') }),
        );
        response.on('error', (error) => resolve({ ...sent, status: 0, answer: error.message }));
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error('callback timeout')));
    // A server that refuses a large body answers and closes before reading it all: the answer counts.
    outgoing.on('error', (error) => resolve({ ...sent, status: 0, answer: error.message }));
    outgoing.end(payload);
  });
}

function secretPresented(request: RecordedRequest): unknown {
  return request.headers['x-webhook-secret'] ?? request.headers['x-cursor-runner-secret'] ?? request.query.secret;
}

function repositoryNotFound(repository: unknown, options: FakeCursorRunnerOptions): boolean {
  if (typeof repository !== 'string' || repository.trim() === '' || !options.fileTrees) return false;
  return !Object.prototype.hasOwnProperty.call(options.fileTrees, repository);
}

function repositoryNotFoundError(repository: string): string {
  return `Repository not found locally: ${repository}. Please ensure the repository exists in the repositories directory.`;
}

/** The prompt as cursor-runner logs it: the string, or the JSON of anything else. */
function promptOf(body: Record<string, unknown>): string {
  return typeof body.prompt === 'string' ? body.prompt : String(JSON.stringify(body.prompt));
}

/** What cursor-runner echoes of a run request in its result. */
function runFacts(body: Record<string, unknown>): { repository?: string; branchName?: string; prompt: string } {
  return {
    repository: typeof body.repository === 'string' ? body.repository : undefined,
    branchName: typeof body.branchName === 'string' ? body.branchName : undefined,
    prompt: promptOf(body),
  };
}

/** Plays an async run to its end: the callback cursor-runner would send, sent the way it sends it. */
async function finishRun(body: Record<string, unknown>, requestId: string, options: FakeCursorRunnerOptions): Promise<void> {
  const callbackUrl = body.callbackUrl ?? body.callback_url;
  if (typeof callbackUrl !== 'string' || !options.run) return;
  const repository = typeof body.repository === 'string' ? body.repository : undefined;
  let result: Record<string, unknown>;
  if (!body.prompt) {
    result = refusedRunCallback(requestId, 'prompt is required', repository);
  } else if (repositoryNotFound(repository, options)) {
    result = refusedRunCallback(requestId, repositoryNotFoundError(repository as string), repository);
  } else {
    const script = options.run({ id: requestId, prompt: promptOf(body), repository });
    result =
      'crash' in script
        ? crashedRunCallback(requestId, script.crash)
        : finishedRunCallback(requestId, script, runFacts(body));
  }
  const sent = await sendCallback(callbackUrl, result, options.webhookSecret);
  options.callbacks?.record(sent);
}

/** cursor-runner reads JSON bodies with `express.json()`, whose default limit is 100 KB. */
export const CURSOR_RUNNER_BODY_LIMIT_BYTES = 100 * 1024;

/**
 * cursor-runner's current HTTP protocol without running anything:
 * - `POST /cursor/execute` answers a successful run at once (400 without a prompt, 404 for an
 *   unknown repository);
 * - `POST /cursor/execute/async` acknowledges (401 without the secret), then, with `run`, calls
 *   back as cursor-runner does — a missing prompt or unknown repository included, which
 *   cursor-runner acknowledges too and reports in the callback;
 * - `POST /cursor/conversation/new` starts a conversation of the body's `queueType` (500 without a
 *   JSON body, as cursor-runner answers);
 * - `GET /repositories/api/:repository/files` serves `fileTrees` (404 for another repository);
 * - anything else is 404 "Route not found";
 * - a JSON body over {@link CURSOR_RUNNER_BODY_LIMIT_BYTES} is 413 on any route, before its secret is
 *   checked (express.json's default limit, which cursor-runner keeps, and its error handler's shape).
 */
export function cursorRunnerProtocol(options: FakeCursorRunnerOptions = {}) {
  return (request: RecordedRequest): FakeReply => {
    const timestamp = new Date().toISOString();
    if (request.rawBody.length > CURSOR_RUNNER_BODY_LIMIT_BYTES) {
      return { status: 413, body: { success: false, error: 'request entity too large', timestamp, path: request.path } };
    }
    const hasBody = typeof request.body === 'object' && request.body !== null;
    const body = (hasBody ? request.body : {}) as Record<string, unknown>;
    const requestId = typeof body.id === 'string' ? body.id : `req-${Date.now()}-fake`;
    const route = `${request.method} ${request.path}`;
    if (route === EXECUTE_ASYNC && options.webhookSecret && secretPresented(request) !== options.webhookSecret) {
      return {
        status: 401,
        body: { success: false, error: 'Unauthorized - invalid or missing webhook secret', timestamp },
      };
    }
    if (route === EXECUTE) {
      if (!body.prompt) return { status: 400, body: { success: false, error: 'prompt is required' } };
      if (repositoryNotFound(body.repository, options)) {
        return { status: 404, body: { success: false, error: repositoryNotFoundError(body.repository as string) } };
      }
      return {
        body: finishedRunCallback(requestId, { stdout: `ran: ${promptOf(body)}` }, runFacts(body)),
      };
    }
    if (route === EXECUTE_ASYNC) {
      setImmediate(() => void finishRun(body, requestId, options));
      return {
        body: { success: true, message: 'Request accepted, processing asynchronously', requestId, timestamp },
        delayMs: options.acknowledgeDelayMs,
      };
    }
    if (route === CONVERSATION_NEW) {
      if (!hasBody) {
        return { status: 500, body: { success: false, error: "Cannot read properties of undefined (reading 'queueType')", timestamp } };
      }
      const queueType = typeof body.queueType === 'string' ? body.queueType : 'default';
      return { body: { success: true, conversationId: randomUUID(), message: 'New conversation created', queueType } };
    }
    const files = /^\/repositories\/api\/([^/]+)\/files$/.exec(request.path);
    if (request.method === 'GET' && files) {
      const repository = decodeURIComponent(files[1]);
      if (options.fileTrees && !Object.prototype.hasOwnProperty.call(options.fileTrees, repository)) {
        return { status: 404, body: { success: false, error: `Repository '${repository}' not found` } };
      }
      return { body: options.fileTrees?.[repository] ?? [] };
    }
    if (route === GIT_REPOSITORIES && options.repositories) {
      return { body: { success: true, repositories: options.repositories, count: options.repositories.length } };
    }
    return { status: 404, body: { success: false, error: 'Route not found', path: request.path, method: request.method } };
  };
}

/** `GET /repositories/api/<repository>/files` as a route key of {@link FakeHttpServer.requestsTo}. */
export function fileTreeRoute(repository: string): string {
  return `GET /repositories/api/${encodeURIComponent(repository)}/files`;
}

/** Starts a fake cursor-runner on a free loopback port. */
export function startFakeCursorRunner(options: FakeCursorRunnerOptions = {}): Promise<FakeHttpServer> {
  return FakeHttpServer.start(cursorRunnerProtocol(options));
}
