/**
 * Where callers put credentials. One list serves every rule about them: log lines redact these,
 * cache keys carry only a digest of them, and they never appear in a key or a log as they are.
 */
export const CREDENTIAL_HEADERS = [
  'authorization',
  'cookie',
  'x-admin-secret',
  'x-telegram-bot-api-secret-token',
  'x-webhook-secret',
  'x-cursor-runner-secret',
  'x-el-secret',
  'x-api-key',
] as const;

/** Query parameters that carry credentials (the callback's `?secret=`, the admin `?admin_secret=`, …). */
export const CREDENTIAL_QUERY_PARAMETERS = ['secret', 'secret_token', 'admin_secret', 'token', 'api_key', 'access_token'] as const;

const CREDENTIAL_QUERY = new Set<string>(CREDENTIAL_QUERY_PARAMETERS);

/**
 * Whether a decoded query parameter name carries a credential: one of
 * {@link CREDENTIAL_QUERY_PARAMETERS} in any case, also in array or object form (`secret[]`,
 * `secret[0]`, `token[a]`), which query parsers turn into the same parameter.
 */
export function isCredentialQueryParameter(name: string): boolean {
  const bracket = name.indexOf('[');
  return CREDENTIAL_QUERY.has((bracket === -1 ? name : name.slice(0, bracket)).trim().toLowerCase());
}
