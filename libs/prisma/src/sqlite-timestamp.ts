/**
 * A moment in the format SQLite's `CURRENT_TIMESTAMP` writes (`YYYY-MM-DD HH:MM:SS`, UTC), which
 * every service sharing the database uses for its TEXT timestamp columns. Default: now.
 */
export function sqliteTimestamp(at: Date = new Date()): string {
  return at.toISOString().slice(0, 19).replace('T', ' ');
}

/** {@link sqliteTimestamp}'s format as a JSON Schema, for the OpenAPI document. */
export const SQLITE_TIMESTAMP_SCHEMA = {
  type: 'string',
  pattern: '^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}$',
  description: 'UTC, as SQLite writes CURRENT_TIMESTAMP: `YYYY-MM-DD HH:MM:SS`.',
  example: '2025-01-31 12:00:00',
};
