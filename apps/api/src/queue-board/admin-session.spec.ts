import { cameOverHttps, cookieValue, refusalOf, sessionCookie } from './admin-session';

const SECRET = 'the-admin-secret';
const NOW = Date.UTC(2026, 11, 5, 12);

/** The cookie a login at `nowMs` sets, as a browser sends it back. */
function sessionAt(nowMs: number, secret = SECRET): string {
  return sessionCookie(secret, false, nowMs).split(';')[0];
}

describe('admin session', () => {
  it.each([
    ['jarek_admin_session=s3cret', 's3cret'],
    ['a=1; jarek_admin_session=s%3Dc%3Bret; b=2', 's=c;ret'],
    ['xjarek_admin_session=no; jarek_admin_session=yes', 'yes'],
    ['jarek_admin_session=%E0%A4%A', undefined],
    ['jarek_admin_session', undefined],
    ['', undefined],
  ])('reads the cookie from %j as %j', (header, value) => {
    expect(cookieValue(header, 'jarek_admin_session')).toBe(value);
  });

  it('sets a session that ends in 12 h, signed, HttpOnly and SameSite=Strict for the dashboard only, Secure over HTTPS', () => {
    const cookie = sessionCookie(SECRET, false, NOW);
    expect(cookie).toMatch(/^jarek_admin_session=\d+\.[0-9a-f]{64}; Path=\/admin\/queues; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    expect(cookie).not.toContain(SECRET);
    expect(cookie.split(';')[0]).toBe(`jarek_admin_session=${NOW / 1_000 + 43_200}.${cookie.split('.')[1].split(';')[0]}`);
    expect(sessionCookie(SECRET, true, NOW)).toMatch(/; Secure$/);
  });

  it('takes the X-Admin-Secret header first, else a session this secret signed that has not ended', () => {
    expect(refusalOf({ 'x-admin-secret': SECRET }, SECRET)).toBeNull();
    expect(refusalOf({ 'x-admin-secret': 'wrong', cookie: sessionAt(NOW) }, SECRET, NOW)?.say).toBe('The admin secret is wrong.');
    expect(refusalOf({}, SECRET)?.say).toMatch(/^The admin secret is missing/);
    expect(refusalOf({ cookie: sessionAt(NOW) }, SECRET, NOW)).toBeNull();
    expect(refusalOf({ cookie: sessionAt(NOW) }, SECRET, NOW + 43_199_000)).toBeNull();
  });

  it.each([
    ['ended', () => refusalOf({ cookie: sessionAt(NOW) }, SECRET, NOW + 43_200_000)],
    ['signed with another secret', () => refusalOf({ cookie: sessionAt(NOW, 'an-old-secret') }, SECRET, NOW)],
    ['the admin secret itself', () => refusalOf({ cookie: `jarek_admin_session=${SECRET}` }, SECRET, NOW)],
    ['pushed later by hand', () => refusalOf({ cookie: sessionAt(NOW).replace(/=(\d+)\./, (_m, end: string) => `=${Number(end) + 86_400}.`) }, SECRET, NOW)],
    ['cut short', () => refusalOf({ cookie: sessionAt(NOW).slice(0, -1) }, SECRET, NOW)],
  ])('refuses a session cookie %s, saying to log in again', (_case, refusal) => {
    expect(refusal()?.say).toBe('The session is not valid or has ended: log in again at /admin/queues/login.');
  });

  it.each([
    ['https', undefined, true],
    ['http', 'https', true],
    ['http', 'HTTPS, http', true],
    ['http', ['https', 'http'], true],
    ['http', 'http', false],
    ['http', undefined, false],
  ] as const)('came over HTTPS with protocol %s and X-Forwarded-Proto %j: %s', (protocol, forwarded, expected) => {
    expect(cameOverHttps(protocol, forwarded as string | string[] | undefined)).toBe(expected);
  });
});
