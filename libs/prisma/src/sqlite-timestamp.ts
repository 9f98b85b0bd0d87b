/**
 * A moment in the format SQLite's `CURRENT_TIMESTAMP` writes (`YYYY-MM-DD HH:MM:SS`, UTC), which
 * every service sharing the database uses for its TEXT timestamp columns. Default: now.
 */
export function sqliteTimestamp(at: Date = new Date()): string {
  return at.toISOString().slice(0, 19).replace('T', ' ');
}

const SQLITE_TIMESTAMP = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

/** An ISO 8601 / SQLite date and time: the date, then optionally the time, fractions and a zone. */
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;

/** The zone's offset from UTC in minutes (`+02:00` → 120); UTC without one, as SQLite's own. */
function offsetMinutes(zone: string | undefined): number {
  if (zone === undefined || zone.toUpperCase() === 'Z') return 0;
  const digits = zone.replace(':', '');
  const minutes = Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5));
  return digits.startsWith('-') ? -minutes : minutes;
}

/**
 * A timestamp column's value as the API shows it, in {@link sqliteTimestamp}'s format whoever wrote
 * it: other services sharing the file may write ISO 8601 (`2025-01-31T12:00:00.000Z`), milliseconds or
 * a zone, which the API passed on as stored, against its documented format. A value without a zone
 * is UTC, as SQLite's own. A value that is not such a date and time — a number, a day that does not
 * exist (`2025-02-30`), anything else — is passed on as stored rather than read as some other date.
 */
export function shownTimestamp(stored: string): string {
  if (SQLITE_TIMESTAMP.test(stored)) return stored;
  const parts = DATE_TIME.exec(stored.trim());
  if (!parts) return stored;
  const [year, month, day, hour = 0, minute = 0, second = 0] = parts.slice(1, 7).map((part) => (part === undefined ? undefined : Number(part))) as number[];
  const local = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  const exists =
    local.getUTCFullYear() === year && local.getUTCMonth() === month - 1 && local.getUTCDate() === day && local.getUTCHours() === hour && local.getUTCMinutes() === minute;
  if (!exists) return stored;
  return sqliteTimestamp(new Date(local.getTime() - offsetMinutes(parts[7]) * 60_000));
}

/** {@link sqliteTimestamp}'s format as a JSON Schema, for the OpenAPI document. */
export const SQLITE_TIMESTAMP_SCHEMA = {
  type: 'string',
  pattern: SQLITE_TIMESTAMP.source,
  description:
    'UTC, as SQLite writes CURRENT_TIMESTAMP: `YYYY-MM-DD HH:MM:SS` (an ISO 8601 date and time another service stored is shown in this form; a value that is none, as stored).',
  example: '2025-01-31 12:00:00',
};
