import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { Cacheable, secretDigest } from '@app/cache';
import { AppConfig } from '@app/config';
import { secretsMatch } from '@app/http';
import { DisabledTelegramClient, HttpTelegramClient, TelegramClient, TelegramTransport } from '../adapters/telegram';
import {
  TelegramBotRepository,
  type NewTelegramBot,
  type TelegramBotChanges,
  type TelegramBotRecord,
} from './telegram-bot.repository';
import { BOT_USERNAME_TTL_MS, TELEGRAM_CACHE } from './telegram.cache';

/** Most per-token clients kept at once; the least recently used goes first. */
export const MAX_CLIENTS = 100;

/** Name of the bot configured by `TELEGRAM_BOT_TOKEN` / `TELEGRAM_WEBHOOK_SECRET`. */
export const DEFAULT_BOT_NAME = 'default';

/** A `telegram_bots` row was given the env bot's token or webhook secret; the field and the variable are named. */
export class EnvBotSecretError extends Error {
  override readonly name = 'EnvBotSecretError';

  constructor(
    readonly field: 'bot_token' | 'webhook_secret',
    readonly variable: string,
  ) {
    super(`${field} is the env bot's (${variable}): a telegram_bots row must have its own`);
  }
}

/** A bot this service can answer as: who it is and the Bot API client for its token. */
export interface TelegramBotHandle {
  /**
   * `telegram_bots.id`, or `null` for the env bot. Store it with anything answered later (the
   * pending cursor-runner request) and get the bot back with {@link TelegramBots.findById}.
   */
  readonly id: number | null;
  readonly name: string;
  /** Calls Telegram as this bot. Shared by every handle of the same token. */
  readonly client: TelegramClient;
}

/** What the admin routes show of a bot: never the token or the webhook secret. */
export interface TelegramBotView {
  id: number;
  name: string;
  bot_type: string;
  active: boolean;
  created_at: string;
  updated_at: string;
}

export function viewOf(record: TelegramBotRecord): TelegramBotView {
  return {
    id: record.id,
    name: record.name,
    bot_type: record.botType,
    active: record.active,
    created_at: record.createdAt,
    updated_at: record.updatedAt,
  };
}

/** Digest naming a token in client maps, cache keys and logs. */
export function tokenDigestOf(token: string): string {
  return secretDigest(token, 'telegram-bot-token');
}

/**
 * Which bot an update belongs to and how to answer as it (docs/telegram.md, "Bots"): the active
 * `telegram_bots` rows first, the env bot (`TELEGRAM_BOT_TOKEN`) as the fallback. Bot lookups are
 * cached (in-process, keyed by secret digests); clients are kept per token in a bounded map keyed
 * by a token digest, so every bot reuses one client and the shared keep-alive pool.
 */
@Injectable()
export class TelegramBots implements OnApplicationBootstrap {
  private readonly logger = new Logger(TelegramBots.name);
  private readonly clients = new LRUCache<string, TelegramClient>({ max: MAX_CLIENTS });
  private readonly defaultHandle: TelegramBotHandle;

  constructor(
    private readonly config: AppConfig,
    private readonly repository: TelegramBotRepository,
    private readonly transport: TelegramTransport,
  ) {
    const token = config.telegram.botToken;
    this.defaultHandle = Object.freeze({
      id: null,
      name: DEFAULT_BOT_NAME,
      client: token ? this.clientFor(token) : new DisabledTelegramClient(),
    });
  }

  /** The env bot. Its client is a no-op (every call resolves `null`) when `TELEGRAM_BOT_TOKEN` is blank. */
  defaultBot(): TelegramBotHandle {
    return this.defaultHandle;
  }

  /**
   * A row can hold the env bot's token or webhook secret when the env values changed after it was
   * written (the routes refuse them, {@link refuseEnvBotSecrets}): said at boot, naming the row, as
   * the env bot's webhooks are then answered as that row. The secrets themselves are never logged.
   */
  async onApplicationBootstrap(): Promise<void> {
    let rows: TelegramBotRecord[];
    try {
      rows = await this.repository.list();
    } catch (error) {
      this.logger.warn(`Could not check telegram_bots against the env bot: ${(error as Error).message}`);
      return;
    }
    const envToken = this.config.telegram.botToken;
    for (const row of rows.filter((bot) => bot.active)) {
      if (secretsMatch(row.webhookSecret, this.config.secrets.telegramWebhook)) {
        this.logger.error(
          `telegram_bots row ${row.id} (${row.name}) has the env bot's webhook secret (TELEGRAM_WEBHOOK_SECRET): webhooks with it ` +
            "are answered as that row, never as the env bot. Give the row its own secret (PATCH /telegram/bots/:id) or change TELEGRAM_WEBHOOK_SECRET.",
        );
      }
      if (envToken && secretsMatch(row.token, envToken)) {
        this.logger.error(
          `telegram_bots row ${row.id} (${row.name}) has the env bot's token (TELEGRAM_BOT_TOKEN): two bots answer as one. ` +
            'Give the row its own token or deactivate it.',
        );
      }
    }
  }

  /**
   * The bot a webhook request is for, from its `X-Telegram-Bot-Api-Secret-Token`: the active
   * `telegram_bots` row with that `webhook_secret`, else the env bot when it equals
   * `TELEGRAM_WEBHOOK_SECRET`, else `null` (answer 401). Compared in constant time. When the
   * database cannot be read, only the env bot can match (the others' updates are refused and
   * Telegram sends them again later).
   */
  async resolveWebhookSecret(secret: string | null | undefined): Promise<TelegramBotHandle | null> {
    if (typeof secret !== 'string' || secret.length === 0) return null;
    try {
      const record = await this.repository.findActiveBySecret(secret);
      if (record) return this.handleOf(record);
    } catch (error) {
      this.logger.warn(`Could not read telegram_bots, only the default bot can match: ${(error as Error).message}`);
    }
    return secretsMatch(secret, this.config.secrets.telegramWebhook) ? this.defaultHandle : null;
  }

  /**
   * The bot to answer as for a stored id: `null`/`undefined` is the env bot; an id is the active
   * row with it, or `null` when it is gone or deactivated (say nothing rather than answer as another bot).
   */
  async findById(id: number | null | undefined): Promise<TelegramBotHandle | null> {
    if (id === null || id === undefined) return this.defaultHandle;
    const record = await this.repository.findActiveById(id);
    return record ? this.handleOf(record) : null;
  }

  /**
   * The bot's `@username` without the `@`, as Telegram's `getMe` says (cached an hour, per token
   * digest); `null` for the env bot without a token.
   */
  @Cacheable({ namespace: TELEGRAM_CACHE, ttl: BOT_USERNAME_TTL_MS, key: (bot: TelegramBotHandle) => ['me', bot.client.tokenDigest] })
  async usernameOf(bot: TelegramBotHandle): Promise<string | null> {
    return (await bot.client.getMe())?.result.username ?? null;
  }

  /** Every `telegram_bots` row, without secrets. */
  async list(): Promise<TelegramBotView[]> {
    return (await this.repository.list()).map(viewOf);
  }

  /**
   * Adds a bot; its webhooks are accepted at once on every instance.
   * @throws EnvBotSecretError for the env bot's token or webhook secret
   */
  async create(bot: NewTelegramBot): Promise<TelegramBotView> {
    this.refuseEnvBotSecrets(bot);
    return viewOf(await this.repository.create(bot));
  }

  /**
   * Changes a bot; `null` when there is none. A new token or a deactivation drops the old token's
   * client here (other instances stop using it as soon as their lookups are cleared, and their map
   * drops it when it is the least recently used).
   * @throws EnvBotSecretError for the env bot's token or webhook secret
   */
  async update(id: number, changes: TelegramBotChanges): Promise<TelegramBotView | null> {
    this.refuseEnvBotSecrets(changes);
    const updated = await this.repository.update(id, changes);
    if (!updated) return null;
    const { before, after } = updated;
    if (before.token !== after.token || !after.active) this.forgetClient(before.token);
    return viewOf(after);
  }

  /**
   * A row may not hold the env bot's webhook secret (the webhook would take the env bot's updates
   * for the row and answer them through the row's token) nor its token (two bots as one, whose
   * rotation or deactivation would not reach the env bot). Compared in constant time.
   */
  private refuseEnvBotSecrets(bot: TelegramBotChanges): void {
    const envToken = this.config.telegram.botToken;
    if (bot.webhookSecret !== undefined && secretsMatch(bot.webhookSecret, this.config.secrets.telegramWebhook)) {
      throw new EnvBotSecretError('webhook_secret', 'TELEGRAM_WEBHOOK_SECRET');
    }
    if (bot.token !== undefined && envToken && secretsMatch(bot.token, envToken)) {
      throw new EnvBotSecretError('bot_token', 'TELEGRAM_BOT_TOKEN');
    }
  }

  private handleOf(record: TelegramBotRecord): TelegramBotHandle {
    return { id: record.id, name: record.name, client: this.clientFor(record.token) };
  }

  private clientFor(token: string): TelegramClient {
    const digest = tokenDigestOf(token);
    let client = this.clients.get(digest);
    if (!client) {
      client = new HttpTelegramClient(token, digest, this.transport);
      this.clients.set(digest, client);
    }
    return client;
  }

  private forgetClient(token: string): void {
    if (token === this.config.telegram.botToken) return;
    this.clients.delete(tokenDigestOf(token));
  }
}
