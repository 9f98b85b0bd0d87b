/** Headers that carry credentials; their values are replaced in every log line. */
export const REDACTED_HEADERS = [
  'authorization',
  'cookie',
  'x-admin-secret',
  'x-telegram-bot-api-secret-token',
  'x-webhook-secret',
  'x-cursor-runner-secret',
  'x-el-secret',
] as const;

/** Query parameters that carry credentials (the callback's `?secret=`, the admin `?admin_secret=`). */
export const REDACTED_QUERY_PARAMETERS = ['secret', 'admin_secret'] as const;

export const REDACTION_CENSOR = '[Redacted]';

const secretQueryParameter = new RegExp(
  `([?&](?:${REDACTED_QUERY_PARAMETERS.join('|')})=)[^&#]*`,
  'gi',
);

/** The URL with the values of secret query parameters replaced. */
export function redactUrl(url: string): string {
  return url.replace(secretQueryParameter, `$1${encodeURIComponent(REDACTION_CENSOR)}`);
}
