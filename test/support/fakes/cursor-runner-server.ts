import { FakeHttpServer, type FakeReply, type RecordedRequest } from './fake-http-server';

export const EXECUTE = 'POST /cursor/execute';
export const EXECUTE_ASYNC = 'POST /cursor/execute/async';
export const GIT_REPOSITORIES = 'GET /git/repositories';

export interface FakeCursorRunnerOptions {
  /** cursor-runner's `WEBHOOK_SECRET`: when set, `/cursor/execute/async` wants it in `X-Webhook-Secret`. */
  webhookSecret?: string;
  /**
   * Serve `GET /git/repositories` with these folders, as cursor-runner builds up to 2025-11-14 did;
   * without it the route is 404 "Route not found", as in current builds.
   */
  repositories?: string[];
}

/**
 * cursor-runner's current HTTP protocol (docs/cursor-runner.md) without running anything:
 * `POST /cursor/execute` answers a successful run at once, `POST /cursor/execute/async`
 * acknowledges (401 without the secret, 400 without a prompt), anything else is 404 "Route not found".
 */
export function cursorRunnerProtocol(options: FakeCursorRunnerOptions = {}) {
  return (request: RecordedRequest): FakeReply => {
    const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<
      string,
      unknown
    >;
    const timestamp = new Date().toISOString();
    const requestId = typeof body.id === 'string' ? body.id : `req-${Date.now()}-fake`;
    const route = `${request.method} ${request.path}`;
    if (route === EXECUTE_ASYNC && options.webhookSecret) {
      const presented = request.headers['x-webhook-secret'] ?? request.query.secret;
      if (presented !== options.webhookSecret) {
        return {
          status: 401,
          body: { success: false, error: 'Unauthorized - invalid or missing webhook secret', timestamp },
        };
      }
    }
    if ((route === EXECUTE || route === EXECUTE_ASYNC) && !body.prompt) {
      return { status: 400, body: { success: false, error: 'prompt is required' } };
    }
    if (route === EXECUTE) {
      return {
        body: {
          success: true,
          requestId,
          repository: body.repository ?? null,
          output: `ran: ${String(body.prompt)}`,
          error: null,
          exitCode: 0,
          duration: '5ms',
          timestamp,
        },
      };
    }
    if (route === GIT_REPOSITORIES && options.repositories) {
      return { body: { success: true, repositories: options.repositories, count: options.repositories.length } };
    }
    if (route === EXECUTE_ASYNC) {
      return { body: { success: true, message: 'Request accepted, processing asynchronously', requestId, timestamp } };
    }
    return { status: 404, body: { success: false, error: 'Route not found', timestamp, path: request.path } };
  };
}

/** Starts a fake cursor-runner on a free loopback port. */
export function startFakeCursorRunner(options: FakeCursorRunnerOptions = {}): Promise<FakeHttpServer> {
  return FakeHttpServer.start(cursorRunnerProtocol(options));
}
