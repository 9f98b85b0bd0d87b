/**
 * The JSON error shape of the original system (domain.md §2.2):
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

/** What the original system answered for an unmatched route. */
export const NOT_FOUND_SAY = "Sorry, I couldn't find that resource.";
/** What the original system answered for an unexpected error. */
export const INTERNAL_ERROR_SAY = 'Sorry, I encountered an error processing your request.';
