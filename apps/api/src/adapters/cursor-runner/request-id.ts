import { randomBytes } from 'node:crypto';

/** Longest request id the callback store accepts (docs/cursor-runner.md, "Request ids"). */
export const REQUEST_ID_MAX_LENGTH = 255;

/** Letters, digits and dashes: covers UUIDs and `telegram-<seconds>-<hex>`, and cannot forge a Redis key. */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9-]+$/;

/** Whether `id` may name a cursor-runner request: non-blank, at most 255 characters, `[A-Za-z0-9-]+`. */
export function isValidRequestId(id: unknown): id is string {
  return typeof id === 'string' && id.length <= REQUEST_ID_MAX_LENGTH && REQUEST_ID_PATTERN.test(id);
}

/**
 * A fresh request id, `<prefix>-<unix seconds>-<8 lowercase hex>`
 * (`req-…` for API calls, `telegram-…` for messages; cursor-runner routes `telegram-` ids to its
 * Telegram conversation queue).
 */
export function newRequestId(prefix = 'req', now: Date = new Date()): string {
  return `${prefix}-${Math.floor(now.getTime() / 1000)}-${randomBytes(4).toString('hex')}`;
}
