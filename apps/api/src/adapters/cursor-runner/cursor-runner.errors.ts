/** Which call failed: enough for a log line or a message, never a secret (no query, no headers). */
export interface CursorRunnerCall {
  method: string;
  path: string;
}

/**
 * Any failure to get a usable answer from cursor-runner (docs/cursor-runner.md, "Answers and errors"). The message is the one
 * users and proxy callers are shown, e.g. "Failed to connect to cursor-runner: …".
 */
export abstract class CursorRunnerError extends Error {
  readonly method: string;
  readonly path: string;

  protected constructor(message: string, call: CursorRunnerCall, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.method = call.method;
    this.path = call.path;
  }
}

/** cursor-runner could not be reached, or the connection broke before a full answer (refused, DNS, reset). */
export class CursorRunnerConnectionError extends CursorRunnerError {
  /** The system error code (`ECONNREFUSED`, `ENOTFOUND`, `ECONNRESET`, …) when there is one. */
  readonly code: string | undefined;

  constructor(call: CursorRunnerCall, cause: Error & { code?: string }) {
    super(`Failed to connect to cursor-runner: ${cause.message}`, call, { cause });
    this.code = cause.code;
  }
}

/** No complete answer within `CURSOR_RUNNER_TIMEOUT` (connecting, sending and reading together). */
export class CursorRunnerTimeoutError extends CursorRunnerError {
  /** The deadline that passed, in milliseconds. */
  readonly timeoutMs: number;

  constructor(call: CursorRunnerCall, timeoutMs: number, detail = `no answer within ${timeoutMs} ms`) {
    super(`Request to cursor-runner timed out: ${detail}`, call);
    this.timeoutMs = timeoutMs;
  }
}

/** A 2xx or 422 answer whose body is not a JSON object. */
export class CursorRunnerInvalidResponseError extends CursorRunnerError {
  readonly status: number;
  /** The start of the body as received (at most 500 characters). */
  readonly bodyExcerpt: string;

  constructor(call: CursorRunnerCall, status: number, reason: string, body: string) {
    super(`Failed to parse response: ${reason}`, call);
    this.status = status;
    this.bodyExcerpt = body.slice(0, 500);
  }
}

/**
 * Any status other than 2xx and 422. The message is the body's `error` field when cursor-runner
 * sent one (e.g. "Route not found"), else `HTTP <status>: <reason>`.
 */
export class CursorRunnerHttpError extends CursorRunnerError {
  readonly status: number;
  /** The parsed JSON body, or the raw text when it was not JSON. */
  readonly body: unknown;

  constructor(call: CursorRunnerCall, status: number, message: string, body: unknown) {
    super(message, call);
    this.status = status;
    this.body = body;
  }
}
