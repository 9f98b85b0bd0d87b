import { newRequestId } from '../adapters/cursor-runner';

/**
 * A request id for a forwarded message: `telegram-<unix seconds>-<8 lowercase hex>`. cursor-runner
 * routes `telegram-` ids to its Telegram conversation queue (docs/cursor-runner.md, "Request ids").
 */
export function newTelegramRequestId(now: Date = new Date()): string {
  return newRequestId('telegram', now);
}
