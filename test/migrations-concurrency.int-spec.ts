import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import type { MigrationReport } from '@app/prisma';

const ROOT = path.resolve(__dirname, '..');
const PROCESSES = 4;

/** One process applying the migrations in `migrationsDir` to `file`, as a pod's startup does; resolves with its report. */
function migrateInChild(file: string, migrationsDir: string): Promise<MigrationReport> {
  const script =
    "const { applyMigrations } = require('./libs/prisma/src/migrator');" +
    'process.stdout.write(JSON.stringify(applyMigrations(process.env.DB_FILE, process.env.MIGRATIONS_DIR)));';
  const child = spawn(process.execPath, ['-r', '@swc-node/register', '-e', script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', DB_FILE: file, MIGRATIONS_DIR: migrationsDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) =>
      code === 0 ? resolve(JSON.parse(stdout) as MigrationReport) : reject(new Error(`exit ${code}: ${stderr}`)),
    );
  });
}

/**
 * Several API and worker pods start at once on the shared SQLite file (docs/operations.md,
 * "Scaling out"): each applies the migrations at boot. Every migration must run exactly once, and
 * no pod may fail on a lock the others hold.
 */
describe('migrations applied by several processes at once', () => {
  let dir: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migrate-race-'));
    const migrationsDir = path.join(dir, 'migrations');
    // Slow enough (a few hundred thousand rows) that the processes overlap; non-idempotent SQL, so a second run fails.
    const steps = ['a', 'b', 'c'].map((name, index) => ({
      name: `2026010100000${index}_${name}`,
      sql:
        `CREATE TABLE ${name} (n INTEGER);\n` +
        `WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 200000) INSERT INTO ${name} SELECT n FROM r;`,
    }));
    for (const step of steps) {
      fs.mkdirSync(path.join(migrationsDir, step.name), { recursive: true });
      fs.writeFileSync(path.join(migrationsDir, step.name, 'migration.sql'), step.sql);
    }
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('runs each migration once in all, and every process starts', async () => {
    const file = path.join(dir, 'shared.sqlite3');
    const reports = await Promise.all(
      Array.from({ length: PROCESSES }, () => migrateInChild(file, path.join(dir, 'migrations'))),
    );

    const applied = reports.flatMap((report) => report.applied).sort();
    expect(applied).toEqual(['20260101000000_a', '20260101000001_b', '20260101000002_c']);
    for (const report of reports) {
      expect([...report.applied, ...report.alreadyApplied].sort()).toEqual(applied);
    }
    const db = new Database(file, { readonly: true });
    try {
      const counts = ['a', 'b', 'c'].map((table) => db.prepare<[], { n: number }>(`SELECT COUNT(*) AS n FROM ${table}`).get()!.n);
      expect(counts).toEqual([200_000, 200_000, 200_000]);
      const recorded = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM "_prisma_migrations"').get()!.n;
      expect(recorded).toBe(3);
    } finally {
      db.close();
    }
  }, 60_000);
});
