/** What to run: the body fields cursor-runner's `/cursor/execute*` routes read (docs/cursor-runner.md, "Request body"). */
export interface CursorRunnerTask {
  /**
   * Request id, echoed as `requestId` in the answer and the callback. Default
   * `req-<unix seconds>-<8 hex>`. Must match `[A-Za-z0-9-]{1,255}` to be found again by the callback.
   */
  id?: string;
  /** Repository folder under cursor-runner's repositories directory; blank means the directory itself. */
  repository?: string;
  /** Branch name; cursor-runner only logs it. */
  branchName?: string;
  /** The instruction for the coding agent. Required, non-blank. */
  prompt: string;
}

/**
 * cursor-runner's JSON answer as it sent it. `success` decides the proxy status (200 or 422);
 * the other fields depend on the route (`requestId`, `output`, `error`, `exitCode`, `message`, …).
 */
export interface CursorRunnerReply {
  success?: unknown;
  [field: string]: unknown;
}

/**
 * The port to cursor-runner, the coding-agent service. Every method resolves with cursor-runner's
 * JSON for a 2xx or 422 answer and rejects with a `CursorRunnerError` subclass otherwise
 * (connection, timeout, invalid response, HTTP error). The production implementation is
 * `HttpCursorRunnerClient`; tests may provide another.
 */
export abstract class CursorRunnerClient {
  /**
   * `POST /cursor/execute`: runs the prompt and waits for the result, at most
   * `CURSOR_RUNNER_TIMEOUT` seconds (default 300).
   */
  abstract execute(task: CursorRunnerTask): Promise<CursorRunnerReply>;

  /**
   * `POST /cursor/execute/async`: cursor-runner acknowledges at once
   * (`{success:true, message, requestId, timestamp}`) and later POSTs the result to this service's
   * `/cursor-runner/callback`. Store the pending request before calling: a fast callback must find it.
   */
  abstract executeAsync(task: CursorRunnerTask): Promise<CursorRunnerReply>;

  /**
   * `GET /git/repositories`: `{success, repositories: string[], count}`. cursor-runner builds up to
   * 2025-11-14 have it; later builds answer 404, which rejects as a `CursorRunnerHttpError` (docs/cursor-runner.md, "Routes we call").
   */
  abstract repositories(): Promise<CursorRunnerReply>;
}
