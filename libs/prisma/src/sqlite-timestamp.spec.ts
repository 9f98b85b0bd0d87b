import { shownTimestamp, SQLITE_TIMESTAMP_SCHEMA, sqliteTimestamp } from './sqlite-timestamp';

describe('sqliteTimestamp', () => {
  it('writes UTC in the CURRENT_TIMESTAMP format, without milliseconds or zone', () => {
    expect(sqliteTimestamp(new Date('2025-03-04T05:06:07.890Z'))).toBe('2025-03-04 05:06:07');
  });
});

describe('shownTimestamp', () => {
  it.each([
    ['2025-01-31 12:00:00', '2025-01-31 12:00:00'],
    ['2025-01-31T12:00:00.000Z', '2025-01-31 12:00:00'],
    ['2025-01-31T12:00:00Z', '2025-01-31 12:00:00'],
    ['2025-01-31 12:00:00.123', '2025-01-31 12:00:00'],
    ['2025-01-31T14:30:00+02:00', '2025-01-31 12:30:00'],
    ['2025-01-31T14:30:00+0200', '2025-01-31 12:30:00'],
    ['2025-01-31T12:00:00', '2025-01-31 12:00:00'],
    ['2025-01-31', '2025-01-31 00:00:00'],
    ['yesterday', 'yesterday'],
    ['', ''],
  ])('shows %j as %j', (stored, shown) => {
    expect(shownTimestamp(stored)).toBe(shown);
  });

  it('shows every date in the documented pattern', () => {
    const pattern = new RegExp(SQLITE_TIMESTAMP_SCHEMA.pattern);
    for (const stored of ['2025-01-31T12:00:00.000Z', '2025-01-31 12:00:00.999999', '2025-12-31T23:59:59-05:00']) expect(shownTimestamp(stored)).toMatch(pattern);
  });
});
