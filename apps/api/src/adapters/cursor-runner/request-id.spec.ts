import { isValidRequestId, newRequestId } from './request-id';

describe('request ids', () => {
  it('spells new ids <prefix>-<unix seconds>-<8 hex>', () => {
    const id = newRequestId('telegram', new Date('2024-01-02T03:04:05.678Z'));
    expect(id).toMatch(/^telegram-1704164645-[0-9a-f]{8}$/);
    expect(newRequestId()).toMatch(/^req-\d{10}-[0-9a-f]{8}$/);
    expect(newRequestId()).not.toBe(newRequestId());
  });

  it.each(['telegram-1704164645-0a1b2c3d', '3f2b8c1e-9d4a-4f6b-8e2a-1c3d5e7f9a0b', 'a', 'x'.repeat(255)])(
    'accepts %p',
    (id) => {
      expect(isValidRequestId(id)).toBe(true);
    },
  );

  it.each(['', ' ', 'x'.repeat(256), 'a b', 'a:b', 'a*', 'req_1', 'ä', 'a\n', undefined, 42])('refuses %p', (id) => {
    expect(isValidRequestId(id)).toBe(false);
  });
});
