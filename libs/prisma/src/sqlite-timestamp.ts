/**
 * A moment in the format SQLite's `CURRENT_TIMESTAMP` writes (`YYYY-MM-DD HH:MM:SS`, UTC), which
 * every service sharing the database uses for its TEXT timestamp columns. Default: now.
 */
export function sqliteTimestamp(at: Date = new Date()): string {
  return at.toISOString().slice(0, 19).replace('T', ' ');
}

const SQLITE_TIMESTAMP = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
const ZONE = /(?:[zZ]|[+-]\d{2}:?\d{2})$/;

/**
 * A timestamp column's value as the API shows it, in {@link sqliteTimestamp}'s format whoever wrote
 * it: other services sharing the file may write ISO 8601 (`2025-01-31T12:00:00.000Z`), milliseconds or
 * a zone, which the API passed on as stored, against its documented format. A value without a zone
 * is UTC, as SQLite's own. One that is no date at all is passed on as stored.
 */
export function shownTimestamp(stored: string): string {
  if (SQLITE_TIMESTAMP.test(stored)) return stored;
  const iso = stored.trim().replace(' ', 'T');
  const at = new Date(ZONE.test(iso) ? iso : `${iso}Z`);
  return Number.isNaN(at.getTime()) ? stored : sqliteTimestamp(at);
}

/** {@link sqliteTimestamp}'s format as a JSON Schema, for the OpenAPI document. */
export const SQLITE_TIMESTAMP_SCHEMA = {
  type: 'string',
  pattern: SQLITE_TIMESTAMP.source,
  description:
    'UTC, as SQLite writes CURRENT_TIMESTAMP: `YYYY-MM-DD HH:MM:SS` (a date another service stored in another form is shown in this one; a value that is no date, as stored).',
  example: '2025-01-31 12:00:00',
};
