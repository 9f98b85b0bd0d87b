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
   * `POST /cursor/conversation/new {queueType}`: cursor-runner starts a fresh conversation for that
   * queue, which later runs of the queue continue: `{success: true, conversationId, message,
   * queueType}`. A failure is a 500 `{success: false, error}`, which rejects as a `CursorRunnerHttpError`.
   */
  abstract newConversation(queueType: CursorRunnerQueue): Promise<CursorRunnerReply>;

  /**
   * `GET /repositories/api/:repository/files`: the repository's file tree, a JSON array of
   * {@link RepositoryFileNode} (directories first, then files). An unknown repository is a 404
   * `{success:false, error:"Repository '<name>' not found"}`, which rejects as a `CursorRunnerHttpError`.
   * The name must already be a valid {@link REPOSITORY_NAME_PATTERN} name.
   */
  abstract repositoryFiles(repository: string): Promise<RepositoryFileNode[]>;
}

/** cursor-runner's conversation queues; a request id starting `telegram-` runs in `telegram`. */
export type CursorRunnerQueue = 'default' | 'telegram' | 'api';

/** One entry of cursor-runner's file tree (it leaves out `.git`, `node_modules`, build output and the like). */
export interface RepositoryFileNode {
  name: string;
  /** Path relative to the repository's folder. */
  path: string;
  type: 'file' | 'directory';
  children?: RepositoryFileNode[];
}

/**
 * A repository is a folder directly under cursor-runner's repositories directory, which cursor-runner
 * joins to that directory's path as given: one path segment of letters, digits, `.`, `_` and `-`,
 * not starting with a dot (so never `.` or `..`), at most 100 characters (GitHub's limit).
 */
export const REPOSITORY_NAME_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$/;
