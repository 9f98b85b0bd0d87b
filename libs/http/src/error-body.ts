/**
 * The JSON error shape of every route without a contract of its own (README, "Architecture"):
 * `{ ok: false, say: <sentence for a person>, result: { error: <short reason>, ...details } }`.
 */
export interface ErrorBody {
  ok: false;
  say: string;
  result: { error: string } & Record<string, unknown>;
}

export function errorBody(say: string, error: string, details: Record<string, unknown> = {}): ErrorBody {
  return { ok: false, say, result: { error, ...details } };
}

/** The `say` of an unmatched route. */
export const NOT_FOUND_SAY = "Sorry, I couldn't find that resource.";
/** The `say` of an unexpected error. */
export const INTERNAL_ERROR_SAY = 'Sorry, I encountered an error processing your request.';
