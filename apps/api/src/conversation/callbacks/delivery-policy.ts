import {
  TelegramApiError,
  TelegramConnectionError,
  TelegramError,
  TelegramHttpError,
  TelegramTimeoutError,
} from '../../adapters/telegram';

/**
 * Longest wait before another try after a failure that uses one up, in milliseconds. A 429's
 * `retry_after` is waited out without using up a try, however long one wait is, while the waits
 * together stay within {@link MAX_THROTTLED_WAIT_MS}.
 */
export const MAX_RETRY_DELAY_MS = 60_000;

/**
 * Longest a delivery or an update waits out Telegram's 429s in all, in milliseconds: within it, a throttled
 * send uses up none of the `CALLBACK_DELIVERY_ATTEMPTS` tries (a busy bot is answered 429 for every
 * send until its `retry_after` passes, so counting them would give up results Telegram only asked
 * to wait for). Below the delivery claim's 15 min, so a replayed callback is still refused meanwhile.
 */
export const MAX_THROTTLED_WAIT_MS = 10 * 60_000;

/** The pending request names a `telegram_bots` row that is gone or deactivated. */
export class BotUnavailableError extends Error {
  override readonly name = 'BotUnavailableError';

  constructor(readonly botId: number | null) {
    super(`Telegram bot ${botId} is gone or deactivated`);
  }
}

/**
 * Whether another try may succeed: Telegram unreachable, too slow, overloaded (5xx) or rate
 * limiting (429), or the bot lookup failing (the database). A refusal of this message (4xx: chat
 * not found, bot blocked, message too long) or a bot that is gone will fail the same way again.
 */
export function isTransient(error: unknown): boolean {
  if (error instanceof BotUnavailableError) return false;
  if (error instanceof TelegramConnectionError || error instanceof TelegramTimeoutError) return true;
  if (error instanceof TelegramApiError || error instanceof TelegramHttpError) {
    return error.status === 429 || error.status >= 500;
  }
  return !(error instanceof TelegramError);
}

/** The wait a 429 asks for (its `retry_after`), in milliseconds; `undefined` for any other failure. */
export function throttledForMs(error: unknown): number | undefined {
  if (!(error instanceof TelegramApiError) || error.status !== 429 || error.retryAfterSeconds === undefined) return undefined;
  return error.retryAfterSeconds * 1000;
}

/**
 * How long to wait before try `attempt + 1` after `error` ended try `attempt` (1-based), in
 * milliseconds, or `null` when not to try again: `baseDelayMs` doubled per try, or a 429's
 * `retry_after` — unless that exceeds {@link MAX_RETRY_DELAY_MS}.
 */
export function retryDelayMs(error: unknown, attempt: number, baseDelayMs: number): number | null {
  if (!isTransient(error)) return null;
  const retryAfterSeconds = error instanceof TelegramApiError ? error.retryAfterSeconds : undefined;
  const delay = retryAfterSeconds !== undefined ? retryAfterSeconds * 1000 : baseDelayMs * 2 ** (attempt - 1);
  return delay <= MAX_RETRY_DELAY_MS ? delay : null;
}
