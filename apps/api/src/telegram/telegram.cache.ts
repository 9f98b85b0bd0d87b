import { defineCacheNamespace } from '@app/cache';

/**
 * Freshness of a cached `getWebhookInfo` answer, in milliseconds. `set_webhook` and
 * `delete_webhook` through this app evict it at once; the TTL only bounds how long a change made
 * elsewhere (another deployment, BotFather, a direct API call) or Telegram's own counters
 * (`pending_update_count`, `last_error_date`) can show old values.
 */
export const WEBHOOK_INFO_TTL_MS = 60_000;

/**
 * Freshness of cached `getFile` metadata (file_id → file_path), in milliseconds. Telegram
 * guarantees a download link for at least one hour; 50 minutes leaves ten minutes of margin for a
 * download that starts just before expiry and for clock skew, while a retried job or a repeated
 * voice message still skips the getFile round trip.
 */
export const FILE_INFO_TTL_MS = 50 * 60_000;

/**
 * Freshness of a bot's cached `@username` (`getMe`), in milliseconds: BotFather can rename a bot, and
 * an hour-old name only makes a command addressed to the new name wait that long to be taken as ours.
 */
export const BOT_USERNAME_TTL_MS = 60 * 60_000;

/** Bot API answers shared by every instance: webhook info, file metadata and usernames, keyed by a token digest. */
export const TELEGRAM_CACHE = defineCacheNamespace({
  name: 'telegram',
  ttl: WEBHOOK_INFO_TTL_MS,
  maxEntries: 5_000,
  description:
    'Bot API answers per bot (token digest): getWebhookInfo (60 s, evicted by set_webhook/delete_webhook), getFile metadata (50 min, Telegram keeps file links at least 1 h) and the bot\'s username (getMe, 1 h)',
});

/**
 * Freshness of the cached active bot rows, in milliseconds. Writes through this app clear them at
 * once; the TTL bounds how long a row added or changed straight in the shared database
 * (cursor-runner owns the table) goes unseen: a deactivated bot is refused within a minute.
 */
export const BOT_LOOKUP_TTL_MS = 60_000;

/**
 * `telegram_bots` rows, tokens included, so in-process only: a bot token never leaves this process
 * for Redis. Other instances still hear of writes through the invalidation bus.
 */
export const TELEGRAM_BOTS_CACHE = defineCacheNamespace({
  name: 'telegram-bots',
  ttl: BOT_LOOKUP_TTL_MS,
  maxEntries: 1,
  shared: false,
  description:
    'The active telegram_bots rows, one entry (in-process: they hold tokens); cleared by every bot write through this app, 60 s backstop',
});

/** Key of the cached webhook info of the bot whose token has this digest. */
export const webhookInfoKey = (tokenDigest: string): string[] => ['webhook-info', tokenDigest];
