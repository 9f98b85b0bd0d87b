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
export const CREDENTIAL_QUERY_PARAMETERS = ['secret', 'admin_secret', 'token', 'api_key', 'access_token'] as const;
