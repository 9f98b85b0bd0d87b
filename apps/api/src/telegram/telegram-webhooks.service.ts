import { Injectable } from '@nestjs/common';
import { Cacheable, CacheEvict } from '@app/cache';
import type { WebhookInfo } from '@grammyjs/types';
import type { TelegramResponse } from '../adapters/telegram';
import type { TelegramBotHandle } from './telegram-bots.service';
import { TELEGRAM_CACHE, WEBHOOK_INFO_TTL_MS, webhookInfoKey } from './telegram.cache';

const EVICT_WEBHOOK_INFO: Parameters<typeof CacheEvict>[0] = {
  namespace: TELEGRAM_CACHE,
  keys: (bot: TelegramBotHandle) => [webhookInfoKey(bot.client.tokenDigest)],
};

/**
 * A bot's webhook registration with Telegram (`setWebhook`, `deleteWebhook`, `getWebhookInfo`). `getWebhookInfo` answers are cached
 * per bot (token digest) in the `telegram` namespace for 60 s; setting or deleting the webhook
 * through this service evicts the bot's entry on every instance. Every method resolves `null` for
 * the env bot without a token.
 */
@Injectable()
export class TelegramWebhooks {
  /** Telegram's `getWebhookInfo` answer for `bot`, cached. */
  @Cacheable({
    namespace: TELEGRAM_CACHE,
    ttl: WEBHOOK_INFO_TTL_MS,
    key: (bot: TelegramBotHandle) => webhookInfoKey(bot.client.tokenDigest),
  })
  async info(bot: TelegramBotHandle): Promise<TelegramResponse<WebhookInfo> | null> {
    return bot.client.getWebhookInfo();
  }

  /** Registers `url` (and `secretToken`, unless blank) as `bot`'s webhook, then evicts its cached info. */
  @CacheEvict(EVICT_WEBHOOK_INFO)
  async set(bot: TelegramBotHandle, url: string, secretToken?: string): Promise<TelegramResponse<boolean> | null> {
    return bot.client.setWebhook(url, secretToken);
  }

  /** Removes `bot`'s webhook, then evicts its cached info. */
  @CacheEvict(EVICT_WEBHOOK_INFO)
  async delete(bot: TelegramBotHandle): Promise<TelegramResponse<boolean> | null> {
    return bot.client.deleteWebhook();
  }
}
