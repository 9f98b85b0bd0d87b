import { createHmac } from 'node:crypto';
import { ADMIN_SECRET_HEADER, errorBody, firstPresentSecret, secretsMatch, type ErrorBody } from '@app/http';

/** Where the dashboard is served; the login form and the session cookie live under it too. */
export const QUEUE_BOARD_PATH = '/admin/queues';

/**
 * The cookie the login form sets: a session that ends at a time it names, signed with the admin
 * secret (HMAC-SHA256), HttpOnly, sent only to the dashboard's paths. It is not the secret itself,
 * which opens every admin route and signs cursor-runner's callbacks: a cookie that leaks (a shared
 * browser profile, a proxy's log) opens the dashboard until the session ends, and changing
 * `WEBHOOK_SECRET` ends every session.
 */
export const ADMIN_SESSION_COOKIE = 'jarek_admin_session';

/** How long a session lasts, in seconds (12 hours): the cookie's `Max-Age` and the end it is signed with. */
const SESSION_SECONDS = 12 * 3_600;

/** `<end, in epoch seconds>.<HMAC-SHA256 of it, hex>`. */
const SESSION_VALUE = /^(\d{1,12})\.([0-9a-f]{64})$/;

function sessionSignature(endsAt: string, secret: string): string {
  return createHmac('sha256', secret).update(`queue-board-session\0${endsAt}`).digest('hex');
}

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

/**
 * `null` when the request may see the dashboard — header `X-Admin-Secret` is the admin secret
 * (constant-time compare), or, without that header, the session cookie is one this secret signed and
 * has not ended — else the 401 body saying what is wrong.
 */
export function refusalOf(headers: Record<string, string | string[] | undefined>, secret: string, nowMs = Date.now()): ErrorBody | null {
  const presented = firstPresentSecret(headers[ADMIN_SECRET_HEADER]);
  if (presented !== undefined) return secretsMatch(presented, secret) ? null : errorBody('The admin secret is wrong.', 'Unauthorized');
  const cookie = Array.isArray(headers.cookie) ? headers.cookie.join('; ') : headers.cookie;
  const session = cookieValue(cookie, ADMIN_SESSION_COOKIE);
  if (session === undefined || session === '') {
    return errorBody(
      `The admin secret is missing: send it in the X-Admin-Secret header, or log in at ${QUEUE_BOARD_PATH}/login.`,
      'Unauthorized',
    );
  }
  const parts = SESSION_VALUE.exec(session);
  if (parts && secretsMatch(parts[2], sessionSignature(parts[1], secret)) && Number(parts[1]) * 1_000 > nowMs) return null;
  return errorBody(`The session is not valid or has ended: log in again at ${QUEUE_BOARD_PATH}/login.`, 'Unauthorized');
}

/**
 * The `Set-Cookie` value of a new session, signed with `secret`. `Secure` when the request came over
 * HTTPS: to this process, or to the proxy in front of it (`X-Forwarded-Proto: https`, which a client
 * can also send; a cookie marked so is only withheld over plain HTTP, never given away).
 */
export function sessionCookie(secret: string, secure: boolean, nowMs = Date.now()): string {
  const endsAt = String(Math.floor(nowMs / 1_000) + SESSION_SECONDS);
  const attributes = [`Path=${QUEUE_BOARD_PATH}`, 'HttpOnly', 'SameSite=Strict', `Max-Age=${SESSION_SECONDS}`];
  if (secure) attributes.push('Secure');
  return [`${ADMIN_SESSION_COOKIE}=${endsAt}.${sessionSignature(endsAt, secret)}`, ...attributes].join('; ');
}

/** Whether a request reached this process, or the proxy in front of it, over HTTPS. */
export function cameOverHttps(protocol: string, forwardedProto: string | string[] | undefined): boolean {
  const first = (Array.isArray(forwardedProto) ? forwardedProto[0] : forwardedProto)?.split(',')[0]?.trim().toLowerCase();
  return protocol === 'https' || first === 'https';
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
