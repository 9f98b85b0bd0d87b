/**
 * An expected failure of a tool (no such task, say): the caller gets `ok: false` with this `say`
 * and `result.error = reason`. Anything else a handler throws is logged and answered generically.
 */
export class ToolError extends Error {
  override readonly name = 'ToolError';

  constructor(
    readonly say: string,
    readonly reason: string,
  ) {
    super(say);
  }
}
