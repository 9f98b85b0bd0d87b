import { Injectable } from '@nestjs/common';
import { Cacheable, CacheEvict } from '@app/cache';
import { secretsMatch } from '@app/http';
import { PrismaService, shownTimestamp, sqliteTimestamp, type TelegramBot } from '@app/prisma';
import { TELEGRAM_BOTS_CACHE } from './telegram.cache';

/** A `telegram_bots` row as this service uses it. `token` and `webhookSecret` are secrets: never log this. */
export interface TelegramBotRecord {
  id: number;
  name: string;
  token: string;
  webhookSecret: string;
  botType: string;
  active: boolean;
  createdAt: string;
  updatedAt: string;
}

/** Fields of a new bot row. */
export interface NewTelegramBot {
  name: string;
  token: string;
  webhookSecret: string;
  /** Default `telegram`. */
  botType?: string;
  /** Default true. */
  active?: boolean;
}

/** Changes to a bot row; absent fields stay. */
export type TelegramBotChanges = Partial<NewTelegramBot>;

/** Every bot write clears the namespace: the active rows, and whatever else is ever cached there. */
const CLEAR_LOOKUPS: Parameters<typeof CacheEvict>[0] = { namespace: TELEGRAM_BOTS_CACHE, allEntries: true };

function toRecord(row: TelegramBot): TelegramBotRecord {
  return {
    id: row.id,
    name: row.name,
    token: row.botToken,
    webhookSecret: row.webhookSecret,
    botType: row.botType,
    active: row.active === 1,
    createdAt: shownTimestamp(row.createdAt),
    updatedAt: shownTimestamp(row.updatedAt),
  };
}

/**
 * The shared `telegram_bots` table (docs/database.md, "telegram_bots"). The active rows are cached as one
 * entry in the in-process `telegram-bots` namespace; every write through this repository clears it,
 * on every instance.
 */
@Injectable()
export class TelegramBotRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Every active row, by id: what webhook resolution and replies read. One cached entry, so a
   * lookup costs no query whatever it finds — a secret that matches no row (the env bot's, or a
   * wrong one sent by anyone) included, which before read the table on every request.
   */
  @Cacheable({ namespace: TELEGRAM_BOTS_CACHE, key: () => ['active'] })
  async active(): Promise<TelegramBotRecord[]> {
    const rows = await this.prisma.telegramBot.findMany({ where: { active: 1 }, orderBy: { id: 'asc' } });
    return rows.map(toRecord);
  }

  /**
   * The active bot whose `webhook_secret` equals `secret`, compared in constant time against every
   * active row (no early exit, no `WHERE webhook_secret = ?`), or `undefined`.
   */
  async findActiveBySecret(secret: string): Promise<TelegramBotRecord | undefined> {
    let found: TelegramBotRecord | undefined;
    for (const bot of await this.active()) {
      if (secretsMatch(secret, bot.webhookSecret) && !found) found = bot;
    }
    return found;
  }

  /**
   * The active bot with this id, or `undefined`. When the active rows cannot be read together (a
   * row another service wrote with a value Prisma cannot read), this one is read alone: one bad row
   * does not silence the replies of every other bot.
   */
  async findActiveById(id: number): Promise<TelegramBotRecord | undefined> {
    let bots: TelegramBotRecord[];
    try {
      bots = await this.active();
    } catch {
      const row = await this.prisma.telegramBot.findFirst({ where: { id, active: 1 } });
      return row ? toRecord(row) : undefined;
    }
    return bots.find((bot) => bot.id === id);
  }

  /** The row with this id, active or not, uncached; `null` when there is none. */
  async find(id: number): Promise<TelegramBotRecord | null> {
    const row = await this.prisma.telegramBot.findUnique({ where: { id } });
    return row ? toRecord(row) : null;
  }

  /** Every row by id, uncached. */
  async list(): Promise<TelegramBotRecord[]> {
    const rows = await this.prisma.telegramBot.findMany({ orderBy: { id: 'asc' } });
    return rows.map(toRecord);
  }

  /** Inserts a row, then clears every lookup. Rejects with Prisma's P2002 when a unique column repeats. */
  @CacheEvict(CLEAR_LOOKUPS)
  async create(bot: NewTelegramBot): Promise<TelegramBotRecord> {
    const now = sqliteTimestamp();
    const row = await this.prisma.whileLocked(() =>
      this.prisma.telegramBot.create({
        data: {
          name: bot.name,
          botToken: bot.token,
          webhookSecret: bot.webhookSecret,
          botType: bot.botType ?? 'telegram',
          active: bot.active === false ? 0 : 1,
          createdAt: now,
          updatedAt: now,
        },
      }),
    );
    return toRecord(row);
  }

  /**
   * Updates a row, then clears every lookup; resolves with the row before and after, or `null` when
   * there is none. Rejects with Prisma's P2002 when a unique column repeats.
   */
  @CacheEvict(CLEAR_LOOKUPS)
  async update(
    id: number,
    changes: TelegramBotChanges,
  ): Promise<{ before: TelegramBotRecord; after: TelegramBotRecord } | null> {
    return this.prisma.whileLocked(() => this.prisma.$transaction(async (tx) => {
      const before = await tx.telegramBot.findUnique({ where: { id } });
      if (!before) return null;
      const after = await tx.telegramBot.update({
        where: { id },
        data: {
          name: changes.name,
          botToken: changes.token,
          webhookSecret: changes.webhookSecret,
          botType: changes.botType,
          active: changes.active === undefined ? undefined : changes.active ? 1 : 0,
          updatedAt: sqliteTimestamp(),
        },
      });
      return { before: toRecord(before), after: toRecord(after) };
    }));
  }
}
