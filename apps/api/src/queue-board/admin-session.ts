import { ADMIN_SECRET_HEADER, errorBody, firstPresentSecret, secretsMatch, type ErrorBody } from '@app/http';

/** Where the dashboard is served; the login form and the session cookie live under it too. */
export const QUEUE_BOARD_PATH = '/admin/queues';

/** The cookie the login form sets: the admin secret, HttpOnly, sent only to the dashboard's paths. */
export const ADMIN_SESSION_COOKIE = 'jarek_admin_secret';

/** How long the browser keeps the session cookie, in seconds (12 hours). */
const SESSION_MAX_AGE_SECONDS = 12 * 3_600;

/** The value of cookie `name` in a `Cookie` header, `undefined` when absent or malformed. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const pair of (header ?? '').split(';')) {
    const separator = pair.indexOf('=');
    if (separator === -1 || pair.slice(0, separator).trim() !== name) continue;
    try {
      return decodeURIComponent(pair.slice(separator + 1).trim());
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** What a request to the dashboard presents as the admin secret: header `X-Admin-Secret`, else the session cookie. */
export function presentedSecret(headers: Record<string, string | string[] | undefined>): string | undefined {
  const cookie = Array.isArray(headers.cookie) ? headers.cookie.join('; ') : headers.cookie;
  return firstPresentSecret(headers[ADMIN_SECRET_HEADER], cookieValue(cookie, ADMIN_SESSION_COOKIE));
}

/** `null` when `presented` is the admin secret (constant-time compare), else the 401 body saying what is wrong. */
export function refusalOf(presented: string | undefined, expected: string): ErrorBody | null {
  if (secretsMatch(presented, expected)) return null;
  return errorBody(
    presented
      ? 'The admin secret is wrong.'
      : `The admin secret is missing: send it in the X-Admin-Secret header, or log in at ${QUEUE_BOARD_PATH}/login.`,
    'Unauthorized',
  );
}

/** The `Set-Cookie` value that keeps the admin secret for the dashboard (`Secure` when served over HTTPS). */
export function sessionCookie(secret: string, secure: boolean): string {
  const attributes = [`Path=${QUEUE_BOARD_PATH}`, 'HttpOnly', 'SameSite=Strict', `Max-Age=${SESSION_MAX_AGE_SECONDS}`];
  if (secure) attributes.push('Secure');
  return [`${ADMIN_SESSION_COOKIE}=${encodeURIComponent(secret)}`, ...attributes].join('; ');
}

/** The login page: one password field posted in the body, so the secret never appears in a URL. */
export const LOGIN_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>jarek-va · queues · log in</title></head>
<body>
<h1>Job queues</h1>
<form method="post" action="${QUEUE_BOARD_PATH}/login">
<label>Admin secret <input type="password" name="admin_secret" autocomplete="current-password" required></label>
<button type="submit">Log in</button>
</form>
</body>
</html>
`;
