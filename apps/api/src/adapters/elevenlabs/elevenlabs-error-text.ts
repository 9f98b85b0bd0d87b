import { STATUS_CODES } from 'node:http';

/** At most this many characters of an error body are logged, and of the message taken from it. */
export const LOGGED_BODY_CHARS = 500;

function textOf(value: unknown): string {
  return typeof value === 'string' ? value.trim() : '';
}

/** FastAPI validation errors: `[{loc, msg, type}, …]`; each item's `msg` (or the item itself when a string). */
function joinedMessages(items: unknown[]): string {
  return items
    .map((item) => (typeof item === 'object' && item !== null ? textOf((item as { msg?: unknown }).msg) : textOf(item)))
    .filter(Boolean)
    .join('; ');
}

function messageOfJson(body: unknown): string {
  if (Array.isArray(body)) return joinedMessages(body);
  if (typeof body !== 'object' || body === null) return '';
  const { detail, error, message } = body as { detail?: unknown; error?: unknown; message?: unknown };
  if (Array.isArray(detail)) {
    const joined = joinedMessages(detail);
    if (joined) return joined;
  }
  // ElevenLabs' own errors are `{"detail": {"status": "invalid_api_key", "message": "…"}}`: reading
  // only a string `detail` would turn those into "HTTP 401: Unauthorized".
  const detailMessage =
    typeof detail === 'object' && detail !== null && !Array.isArray(detail)
      ? textOf((detail as { message?: unknown }).message)
      : textOf(detail);
  return detailMessage || textOf(error) || textOf(message);
}

/**
 * The message of an ElevenLabs error answer (docs/elevenlabs.md, "Error answers"), first that is present and non-blank:
 * a top-level array or a `detail` array → the items' `msg` joined with "; "; `detail` (a string,
 * or an object's `message`); `error`; `message`; else `HTTP <status>: <reason phrase>`.
 *
 * Cut to {@link LOGGED_BODY_CHARS} characters: the message is logged and shown to the user, and an
 * answer may hold megabytes of it.
 *
 * @param status the HTTP status of the answer
 * @param body the answer's body as text (JSON or not)
 */
export function errorMessageOf(status: number, body: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  return bodyExcerpt(messageOfJson(parsed) || `HTTP ${status}: ${STATUS_CODES[status] ?? 'Unknown Status'}`);
}

/** The start of a body for a log line: at most {@link LOGGED_BODY_CHARS} characters. */
export function bodyExcerpt(body: string): string {
  return body.length > LOGGED_BODY_CHARS ? `${body.slice(0, LOGGED_BODY_CHARS)}…` : body;
}
