import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { AppConfig, ConfigValidationError } from '@app/config';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaClient } from './generated/client';
import { applyMigrations } from './migrator';

/** How long a query waits for a lock held by another process on the shared file, in milliseconds. */
const BUSY_TIMEOUT_MS = 5_000;

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
