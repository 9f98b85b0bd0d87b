import { cookieValue, presentedSecret, refusalOf, sessionCookie } from './admin-session';

describe('admin session', () => {
  it.each([
    ['jarek_admin_secret=s3cret', 's3cret'],
    ['a=1; jarek_admin_secret=s%3Dc%3Bret; b=2', 's=c;ret'],
    ['xjarek_admin_secret=no; jarek_admin_secret=yes', 'yes'],
    ['jarek_admin_secret=%E0%A4%A', undefined],
    ['jarek_admin_secret', undefined],
    ['', undefined],
  ])('reads the cookie from %j as %j', (header, value) => {
    expect(cookieValue(header, 'jarek_admin_secret')).toBe(value);
  });

  it('prefers the X-Admin-Secret header to the cookie', () => {
    expect(presentedSecret({ 'x-admin-secret': 'header', cookie: 'jarek_admin_secret=cookie' })).toBe('header');
    expect(presentedSecret({ cookie: 'jarek_admin_secret=cookie' })).toBe('cookie');
    expect(presentedSecret({})).toBeUndefined();
  });

  it('refuses a missing or wrong secret, saying which', () => {
    expect(refusalOf('right', 'right')).toBeNull();
    expect(refusalOf('wrong', 'right')?.say).toBe('The admin secret is wrong.');
    expect(refusalOf(undefined, 'right')?.say).toMatch(/^The admin secret is missing/);
  });

  it('sets the cookie HttpOnly and SameSite=Strict for the dashboard only, Secure over HTTPS', () => {
    expect(sessionCookie('a b', false)).toBe(
      'jarek_admin_secret=a%20b; Path=/admin/queues; HttpOnly; SameSite=Strict; Max-Age=43200',
    );
    expect(sessionCookie('x', true)).toMatch(/; Secure$/);
  });
});
