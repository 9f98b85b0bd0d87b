import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { AppConfig, ConfigValidationError } from '@app/config';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { isDatabaseBusy } from './database-busy';
import { PrismaClient } from './generated/client';
import { applyMigrations } from './migrator';

/**
 * How long one statement waits for a lock another process holds on the shared file, in
 * milliseconds. better-sqlite3 waits synchronously: the whole process stops meanwhile (at 5 s, a
 * settings write under cursor-runner's lock held every request, /health/live included, 5 s), so
 * the wait is short and writes are made again between waits instead ({@link PrismaService.whileLocked}).
 */
const BUSY_TIMEOUT_MS = 50;

/** How long a write is made again while another process holds the shared file's write lock, in milliseconds. */
export const WRITE_LOCK_WAIT_MS = 3_000;
/** Longest pause between two tries of such a write, in milliseconds. */
const WRITE_LOCK_PAUSE_MAX_MS = 200;

/**
 * The Prisma client for the shared SQLite file. Pending migrations are applied before the first
 * connection, so `npm start` on a fresh machine creates and migrates the file by itself. The
 * connection is closed after the HTTP server has drained (application shutdown), not before.
 */
@Injectable()
export class PrismaService extends PrismaClient implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Prisma');

  constructor(private readonly config: AppConfig) {
    super({ adapter: new PrismaBetterSqlite3({ url: config.database.url, timeout: BUSY_TIMEOUT_MS }) });
  }

  /**
   * Makes `write` again, pausing between tries without holding the process, while another process
   * holds the shared file's write lock, for up to {@link WRITE_LOCK_WAIT_MS}; then its busy error
   * goes on (the HTTP answer is 503 with Retry-After). A write refused so did not happen. Waiting
   * in SQLite instead would stop the process (see BUSY_TIMEOUT_MS), and a transaction that reads
   * before it writes is refused at once whatever the timeout (SQLite will not upgrade a reader
   * while another process writes).
   */
  async whileLocked<T>(write: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + WRITE_LOCK_WAIT_MS;
    for (let pause = 20; ; pause = Math.min(pause * 2, WRITE_LOCK_PAUSE_MAX_MS)) {
      try {
        return await write();
      } catch (error) {
        if (!isDatabaseBusy(error) || Date.now() + pause > deadline) throw error;
        await sleep(pause);
      }
    }
  }

  /** A database file that cannot be opened or migrated stops the boot with one line naming its variable. */
  async onModuleInit(): Promise<void> {
    const filePath = this.config.database.filePath;
    try {
      const report = applyMigrations(filePath);
      if (report.applied.length > 0) this.logger.log(`Applied migrations ${report.applied.join(', ')} to ${filePath}`);
      for (const name of report.modified) {
        this.logger.warn(`Migration ${name} was changed after it was applied; it is not re-run`);
      }
      await this.$connect();
    } catch (error) {
      throw new ConfigValidationError(
        `Invalid configuration: the database ${filePath} (DATABASE_URL or SHARED_DB_PATH) cannot be opened and migrated: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.$disconnect();
  }
}
