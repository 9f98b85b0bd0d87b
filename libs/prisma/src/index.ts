export { PrismaModule } from './prisma.module';
export { PrismaService } from './prisma.service';
export { applyMigrations, findMigrationsDir, readMigrations, type MigrationReport } from './migrator';
export type { SystemSetting, Task, TelegramBot } from './generated/client';
export { sqliteTimestamp } from './sqlite-timestamp';
