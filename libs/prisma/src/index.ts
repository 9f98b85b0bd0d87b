export { PrismaModule } from './prisma.module';
export { PrismaService } from './prisma.service';
export { applyMigrations, findMigrationsDir, readMigrations, type MigrationReport } from './migrator';
export type { SystemSetting, Task, TelegramBot } from './generated/client';
export { SQLITE_TIMESTAMP_SCHEMA, sqliteTimestamp } from './sqlite-timestamp';
