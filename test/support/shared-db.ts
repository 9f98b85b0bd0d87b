import Database from 'better-sqlite3';

/**
 * Another service writing the shared SQLite file directly, as cursor-runner's MCP and
 * cursor-agents do: its own connection, no cache, no invalidation.
 */
export function writeSharedDb(databaseFile: string, sql: string, ...parameters: unknown[]): void {
  const db = new Database(databaseFile);
  try {
    db.pragma('busy_timeout = 5000');
    db.prepare(sql).run(...parameters);
  } finally {
    db.close();
  }
}

/** Runs DDL against the shared file (tests that break or repair the schema). */
export function execSharedDb(databaseFile: string, sql: string): void {
  const db = new Database(databaseFile);
  try {
    db.pragma('busy_timeout = 5000');
    db.exec(sql);
  } finally {
    db.close();
  }
}
