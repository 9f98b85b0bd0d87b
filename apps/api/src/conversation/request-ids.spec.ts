import { newTelegramRequestId } from './request-ids';

describe('request ids', () => {
  it('names a forwarded message telegram-<unix seconds>-<8 hex>', () => {
    const id = newTelegramRequestId(new Date('2026-01-02T03:04:05.678Z'));
    expect(id).toMatch(/^telegram-1767323045-[0-9a-f]{8}$/);
    expect(newTelegramRequestId()).not.toBe(newTelegramRequestId());
  });
});
