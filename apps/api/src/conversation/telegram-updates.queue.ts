import { defineQueue } from '@app/queue';
import type { TelegramUpdate } from './telegram-update';

/** One queued update and the bot it came through. */
export interface TelegramUpdateJob {
  /** `telegram_bots.id` of the bot, `null` for the env bot (`TelegramBots.findById` takes it back). */
  botId: number | null;
  update: TelegramUpdate;
  /**
   * The cursor-runner request id this update is forwarded under, if it is forwarded: chosen when
   * the update is queued and stored with it, so every attempt on every worker uses the same one.
   * Absent from jobs queued by versions before it; those choose one in a saved step.
   */
  requestId?: string;
}

/** Webhook updates waiting to be processed, 3 attempts each. */
export const TELEGRAM_UPDATES_QUEUE = defineQueue<TelegramUpdateJob>({
  name: 'telegram-updates',
  description: 'Telegram webhook updates, processed after the webhook has answered',
  attempts: 3,
});

/**
 * How long an update id is remembered, in seconds. Telegram keeps an undelivered update for at
 * most 24 hours and redelivers it until a webhook answers 2xx, so a repeat can only arrive within
 * that window; one day covers it with nothing left over.
 */
export const UPDATE_DEDUPLICATION_TTL_SECONDS = 86_400;

/**
 * What makes two deliveries the same update: Telegram's `update_id` counts per bot, so the bot
 * (named by its token digest, never the token) is part of it. The queue library turns it into the
 * Redis key `<QUEUE_PREFIX>:telegram-updates:once:telegram:update:<bot>:<update_id>`.
 */
export function updateDeduplicationId(botTokenDigest: string, updateId: number): string {
  return `telegram:update:${botTokenDigest}:${updateId}`;
}
