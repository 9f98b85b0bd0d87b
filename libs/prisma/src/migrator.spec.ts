import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { applyMigrations, findMigrationsDir, readMigrations } from './migrator';

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'migrator-'));

function tables(file: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    return db
      .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
      .all()
      .map((row) => row.name);
  } finally {
    db.close();
  }
}

describe('applyMigrations', () => {
  const migrations = readMigrations(findMigrationsDir());

  it('creates the file, its folder and the three shared tables', () => {
    const file = path.join(tempDir(), 'nested', 'shared.sqlite3');
    const report = applyMigrations(file);
    expect(report.applied).toEqual(migrations.map((migration) => migration.name));
    expect(tables(file)).toEqual(['_prisma_migrations', 'system_settings', 'tasks', 'telegram_bots']);
  });

  it('is idempotent', () => {
    const file = path.join(tempDir(), 'shared.sqlite3');
    applyMigrations(file);
    const second = applyMigrations(file);
    expect(second.applied).toEqual([]);
    expect(second.alreadyApplied).toEqual(migrations.map((migration) => migration.name));
  });

  it('adopts a database whose tables cursor-runner already created, keeping its rows', () => {
    const file = path.join(tempDir(), 'shared.sqlite3');
    const db = new Database(file);
    db.exec(`
      CREATE TABLE system_settings (name TEXT NOT NULL PRIMARY KEY, value INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);
      CREATE UNIQUE INDEX index_system_settings_on_name ON system_settings(name);
      CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, executed_at TEXT);
      INSERT INTO system_settings (name, value) VALUES ('debug', 1);
    `);
    db.close();

    expect(applyMigrations(file).applied).toHaveLength(migrations.length);

    const reopened = new Database(file, { readonly: true });
    expect(reopened.prepare('SELECT name, value FROM system_settings').all()).toEqual([{ name: 'debug', value: 1 }]);
    reopened.close();
    expect(tables(file)).toEqual(
      expect.arrayContaining(['schema_migrations', 'system_settings', 'tasks', 'telegram_bots']),
    );
  });

  it('reports an applied migration whose SQL changed, without re-running it', () => {
    const migrationsDir = tempDir();
    const name = '20990101000000_probe';
    fs.mkdirSync(path.join(migrationsDir, name));
    fs.writeFileSync(path.join(migrationsDir, name, 'migration.sql'), 'CREATE TABLE probe (id INTEGER);');
    const file = path.join(tempDir(), 'shared.sqlite3');
    applyMigrations(file, migrationsDir);

    fs.writeFileSync(path.join(migrationsDir, name, 'migration.sql'), 'CREATE TABLE probe (id INTEGER, x TEXT);');
    const report = applyMigrations(file, migrationsDir);
    expect(report).toEqual({ applied: [], alreadyApplied: [name], modified: [name] });
  });

  it('rolls back a failing migration and records nothing for it', () => {
    const migrationsDir = tempDir();
    const name = '20990101000000_broken';
    fs.mkdirSync(path.join(migrationsDir, name));
    fs.writeFileSync(path.join(migrationsDir, name, 'migration.sql'), 'CREATE TABLE ok (id INTEGER); THIS IS NOT SQL;');
    const file = path.join(tempDir(), 'shared.sqlite3');
    expect(() => applyMigrations(file, migrationsDir)).toThrow(/syntax error/);
    expect(tables(file)).toEqual(['_prisma_migrations']);
  });
});
