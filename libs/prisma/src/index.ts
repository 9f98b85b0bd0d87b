export { PrismaModule } from './prisma.module';
export { PrismaService, WRITE_LOCK_WAIT_MS } from './prisma.service';
export { applyMigrations, findMigrationsDir, readMigrations, type MigrationReport } from './migrator';
export type { SystemSetting, Task, TelegramBot } from './generated/client';
export { shownTimestamp, SQLITE_TIMESTAMP_SCHEMA, sqliteTimestamp } from './sqlite-timestamp';
export { isDatabaseBusy } from './database-busy';
export { isRecordNotFound } from './record-not-found';
