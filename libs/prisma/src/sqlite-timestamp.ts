/**
 * A moment in the format SQLite's `CURRENT_TIMESTAMP` writes (`YYYY-MM-DD HH:MM:SS`, UTC), which
 * every service sharing the database uses for its TEXT timestamp columns. Default: now.
 */
export function sqliteTimestamp(at: Date = new Date()): string {
  return at.toISOString().slice(0, 19).replace('T', ' ');
}
