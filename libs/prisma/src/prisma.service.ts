import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { AppConfig, ConfigValidationError } from '@app/config';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { DatabaseBusyError, isDatabaseBusy } from './database-busy';
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
/** Shortest and longest pause between two tries of such a write, in milliseconds. */
const WRITE_LOCK_PAUSE_MIN_MS = 20;
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

  /** Settles when the last write that took its turn in {@link whileLocked} has finished. */
  private lastTurn: Promise<void> = Promise.resolve();
  /** The pause before the next try of a refused write: it grows while the lock lasts, across turns. */
  private retryPause = WRITE_LOCK_PAUSE_MIN_MS;

  /**
   * Makes `write` again, pausing between tries without holding the process, while another process
   * holds the shared file's write lock, for up to {@link WRITE_LOCK_WAIT_MS}; then its busy error
   * goes on (the HTTP answer is 503 with Retry-After). A write refused so did not happen. Waiting
   * in SQLite instead would stop the process (see BUSY_TIMEOUT_MS), and a transaction that reads
   * before it writes is refused at once whatever the timeout (SQLite will not upgrade a reader
   * while another process writes).
   *
   * Writes take turns, in the order they came: each try can hold the process for BUSY_TIMEOUT_MS,
   * and ten writes trying side by side held it for most of every second (`/health/live` answered in
   * 0.9–1.8 s). One write tries at a time, the others wait without trying, and the pause between
   * tries keeps growing from one write's turn to the next while the lock lasts. A write with less
   * than one try's time left when its turn comes is refused as busy without trying
   * ({@link DatabaseBusyError}), so writes that waited together are answered together. SQLite takes
   * one writer at a time anyway, so a turn costs an uncontended write nothing but a tick. Not
   * re-entrant: a write must not call `whileLocked` itself.
   */
  async whileLocked<T>(write: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + WRITE_LOCK_WAIT_MS;
    const previous = this.lastTurn;
    let endTurn!: () => void;
    const turn = new Promise<void>((resolve) => (endTurn = resolve));
    this.lastTurn = previous.then(() => turn);
    try {
      await turnBefore(previous, deadline);
      for (;;) {
        if (deadline - Date.now() < BUSY_TIMEOUT_MS) throw new DatabaseBusyError();
        try {
          const written = await write();
          this.retryPause = WRITE_LOCK_PAUSE_MIN_MS;
          return written;
        } catch (error) {
          if (!isDatabaseBusy(error) || Date.now() + this.retryPause > deadline) throw error;
          await sleep(this.retryPause);
          this.retryPause = Math.min(this.retryPause * 2, WRITE_LOCK_PAUSE_MAX_MS);
        }
      }
    } finally {
      endTurn();
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

/** Resolves when `previous` turn has ended, or throws {@link DatabaseBusyError} once `deadline` has passed. */
async function turnBefore(previous: Promise<void>, deadline: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new DatabaseBusyError()), Math.max(0, deadline - Date.now()));
  });
  try {
    await Promise.race([previous, waited]);
  } finally {
    clearTimeout(timer);
  }
}
