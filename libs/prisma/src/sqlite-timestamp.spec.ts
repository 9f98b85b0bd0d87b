import { sqliteTimestamp } from './sqlite-timestamp';

describe('sqliteTimestamp', () => {
  it('writes UTC in the CURRENT_TIMESTAMP format, without milliseconds or zone', () => {
    expect(sqliteTimestamp(new Date('2025-03-04T05:06:07.890Z'))).toBe('2025-03-04 05:06:07');
  });
});
