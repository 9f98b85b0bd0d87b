import { createHash, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';

/** What one run of {@link applyMigrations} did. */
export interface MigrationReport {
  applied: string[];
  alreadyApplied: string[];
  /** Applied migrations whose SQL changed since; they are not re-run. */
  modified: string[];
}

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

/**
 * Prisma's own bookkeeping table, so a database migrated here looks migrated to the Prisma CLI too
 * (the CLI's schema engine cannot be installed on every machine, which is why the app applies the
 * SQL itself).
 */
const BOOKKEEPING_TABLE_SQL = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" TEXT PRIMARY KEY NOT NULL,
  "checksum" TEXT NOT NULL,
  "finished_at" DATETIME,
  "migration_name" TEXT NOT NULL,
  "logs" TEXT,
  "rolled_back_at" DATETIME,
  "started_at" DATETIME NOT NULL DEFAULT current_timestamp,
  "applied_steps_count" INTEGER UNSIGNED NOT NULL DEFAULT 0
)`;

/** Finds `prisma/migrations` above `from`, so the same code works from `src/` and from `dist/`. */
export function findMigrationsDir(from: string = __dirname): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'prisma', 'migrations');
    if (fs.existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) {
      throw new Error(`No prisma/migrations folder found above ${from}`);
    }
  }
}

/** The migrations in Prisma's folder format (`<timestamp>_<name>/migration.sql`), oldest first. */
export function readMigrations(migrationsDir: string): MigrationFile[] {
  return fs
    .readdirSync(migrationsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const sql = fs.readFileSync(path.join(migrationsDir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

/**
 * Creates `folder` and its missing parents, one `mkdir` each. Not `mkdirSync(…, { recursive: true })`:
 * where `mkdir` answers ENOENT though the parent exists (a folder under /proc), Node's recursive
 * mkdir retries for ever, and the service spun at 100 % CPU, silent, instead of failing to boot.
 */
function makeFolder(folder: string): void {
  if (fs.existsSync(folder)) return;
  makeFolder(path.dirname(folder));
  try {
    fs.mkdirSync(folder);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

/**
 * Applies pending migrations to the SQLite file at `filePath`, creating the file and its folder if
 * needed. Idempotent, and safe when two instances start at once: the whole check-and-apply runs in
 * one `BEGIN IMMEDIATE` transaction, so the second waits for the first and then finds nothing to do.
 */
export function applyMigrations(filePath: string, migrationsDir = findMigrationsDir()): MigrationReport {
  makeFolder(path.dirname(filePath));
  const db = new Database(filePath, { timeout: 10_000 });
  try {
    db.pragma('journal_mode = WAL');
    db.exec(BOOKKEEPING_TABLE_SQL);
    const migrations = readMigrations(migrationsDir);
    const report: MigrationReport = { applied: [], alreadyApplied: [], modified: [] };
    const findApplied = db.prepare<[string], { checksum: string }>(
      `SELECT checksum FROM "_prisma_migrations"
        WHERE migration_name = ? AND finished_at IS NOT NULL AND rolled_back_at IS NULL`,
    );
    const recordApplied = db.prepare(
      `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, started_at, applied_steps_count)
       VALUES (?, ?, current_timestamp, ?, current_timestamp, 1)`,
    );
    db.transaction(() => {
      for (const migration of migrations) {
        const applied = findApplied.get(migration.name);
        if (applied) {
          report.alreadyApplied.push(migration.name);
          if (applied.checksum !== migration.checksum) report.modified.push(migration.name);
          continue;
        }
        db.exec(migration.sql);
        recordApplied.run(randomUUID(), migration.checksum, migration.name);
        report.applied.push(migration.name);
      }
    }).immediate();
    return report;
  } finally {
    db.close();
  }
}
