import { Injectable, Logger } from '@nestjs/common';
import { Cacheable, CacheEvict } from '@app/cache';
import { PrismaService, shownTimestamp, sqliteTimestamp, type SystemSetting } from '@app/prisma';
import { SETTINGS_CACHE, SETTINGS_LIST_TAG, settingTag } from './settings.cache';

/** A `system_settings` row as the API shows it. `updated_at` is SQLite's `YYYY-MM-DD HH:MM:SS`, UTC. */
export interface SettingRecord {
  name: string;
  enabled: boolean;
  updated_at: string;
}

/** Every write evicts what shows the setting (method results and GET /settings/:name) and the list. */
const EVICT_SETTING: Parameters<typeof CacheEvict>[0] = {
  namespace: SETTINGS_CACHE,
  tags: (name: string) => [settingTag(name), SETTINGS_LIST_TAG],
};

function toRecord(row: SystemSetting): SettingRecord {
  return { name: row.name, enabled: row.value === 1, updated_at: shownTimestamp(row.updatedAt) };
}

/**
 * SystemSetting (docs/database.md, "system_settings"): boolean switches in the shared `system_settings` table, stored as
 * `value` 0/1. Names in use: `debug`, `allow_audio_output`, `task_operator`. Reads are cached in
 * the `settings` namespace; every write through this service evicts before it returns.
 */
@Injectable()
export class SettingsService {
  private readonly logger = new Logger(SettingsService.name);

  constructor(private readonly prisma: PrismaService) {}

  /**
   * Whether `name` is enabled (`value = 1`); a missing row is `false`. Cached. A database error is
   * thrown (and so never cached): {@link isEnabled} is the never-failing variant.
   */
  @Cacheable({
    namespace: SETTINGS_CACHE,
    key: (name: string) => ['enabled', name],
    tags: (_enabled: unknown, name: string) => [settingTag(name)],
  })
  async lookup(name: string): Promise<boolean> {
    const row = await this.prisma.systemSetting.findUnique({ where: { name }, select: { value: true } });
    return row?.value === 1;
  }

  /** Whether `name` is enabled, with a missing row or a database error meaning `false`. */
  async get(name: string): Promise<boolean> {
    try {
      return await this.lookup(name);
    } catch (error) {
      this.logger.warn(`Could not read setting ${name}, treating it as disabled: ${(error as Error).message}`);
      return false;
    }
  }

  /** Same as {@link get}; reads better where a switch is tested. */
  isEnabled(name: string): Promise<boolean> {
    return this.get(name);
  }

  /** The negation of {@link isEnabled}: a missing row or a database error counts as disabled. */
  async isDisabled(name: string): Promise<boolean> {
    return !(await this.isEnabled(name));
  }

  /** The row of `name`, uncached (the GET routes cache their whole responses), or `null`. */
  async find(name: string): Promise<SettingRecord | null> {
    const row = await this.prisma.systemSetting.findUnique({ where: { name } });
    return row ? toRecord(row) : null;
  }

  /** Every row, by name, uncached (GET /settings caches its response). */
  async list(): Promise<SettingRecord[]> {
    const rows = await this.prisma.systemSetting.findMany({ orderBy: { name: 'asc' } });
    return rows.map(toRecord);
  }

  /** Inserts or updates the row with `updated_at` now, then evicts every cached view of it. */
  @CacheEvict(EVICT_SETTING)
  async set(name: string, enabled: boolean): Promise<SettingRecord> {
    const value = enabled ? 1 : 0;
    const now = sqliteTimestamp();
    const row = await this.prisma.whileLocked(() =>
      this.prisma.systemSetting.upsert({
        where: { name },
        create: { name, value, createdAt: now, updatedAt: now },
        update: { value, updatedAt: now },
      }),
    );
    return toRecord(row);
  }

  enable(name: string): Promise<SettingRecord> {
    return this.set(name, true);
  }

  disable(name: string): Promise<SettingRecord> {
    return this.set(name, false);
  }

  /** Flips the stored value (a missing row counts as disabled, so it becomes enabled) in one transaction. */
  @CacheEvict(EVICT_SETTING)
  async toggle(name: string): Promise<SettingRecord> {
    const row = await this.prisma.whileLocked(() => this.prisma.$transaction(async (tx) => {
      const current = await tx.systemSetting.findUnique({ where: { name }, select: { value: true } });
      const value = current?.value === 1 ? 0 : 1;
      const now = sqliteTimestamp();
      return tx.systemSetting.upsert({
        where: { name },
        create: { name, value, createdAt: now, updatedAt: now },
        update: { value, updatedAt: now },
      });
    }));
    return toRecord(row);
  }

  /** Deletes the row (the setting then reads as disabled); `false` when there was none. */
  @CacheEvict(EVICT_SETTING)
  async remove(name: string): Promise<boolean> {
    const { count } = await this.prisma.whileLocked(() => this.prisma.systemSetting.deleteMany({ where: { name } }));
    return count > 0;
  }
}
