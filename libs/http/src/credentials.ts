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

/** A word of a parameter name as compared: lower case, without `_` and `-` (`adminSecret`, `ADMIN-SECRET`). */
function squashed(word: string): string {
  return word.toLowerCase().replace(/[_-]/g, '');
}

const CREDENTIAL_WORDS = new Set<string>(CREDENTIAL_QUERY_PARAMETERS.map(squashed));

/**
 * Whether a decoded query parameter name carries a credential: one of its words — the runs of
 * letters, digits, `_` and `-` between anything else — or the whole name with everything but letters
 * and digits left out is one of {@link CREDENTIAL_QUERY_PARAMETERS} in any case, spelled with or
 * without `_`/`-`. So the array and object forms query parsers read as the same parameter (`secret[]`,
 * `token[a]`) match, and so do a client's near-misses that still carry the secret in their value
 * (`a[admin_secret]`, `admin_secret\0`, `adminSecret`, `api key`, `api.key`): a name is redacted and
 * digested once too often rather than a secret once too few. `not_secret` and `token_count` do not match.
 */
export function isCredentialQueryParameter(name: string): boolean {
  if (CREDENTIAL_WORDS.has(name.toLowerCase().replace(/[^a-z0-9]/g, ''))) return true;
  return name.split(/[^A-Za-z0-9_-]+/).some((word) => CREDENTIAL_WORDS.has(squashed(word)));
}

/**
 * A query parameter's name as a query parser reads it: `+` is a space, `%xx` decoded — each run of
 * escapes on its own, so a stray `%` (`%61dmin_secret%`) leaves the rest of the name decoded.
 */
function decodedName(raw: string): string {
  return raw.replace(/\+/g, ' ').replace(/(%[0-9A-Fa-f]{2})+/g, (escapes) => {
    try {
      return decodeURIComponent(escapes);
    } catch {
      return escapes;
    }
  });
}

/**
 * `url` with the value of every credential query parameter (its name decoded and matched by
 * {@link isCredentialQueryParameter}) replaced by `replace(value)`, the rest left as it was sent.
 * Everything after the `?` is the query, a `#` included: a request target has no fragment, and the
 * server's query parser reads past one, so `?x#&secret=…` authenticates.
 */
export function replaceCredentialValues(url: string, replace: (value: string) => string): string {
  const queryStart = url.indexOf('?');
  if (queryStart === -1) return url;
  const pairs = url.slice(queryStart + 1).split(/([&;])/);
  for (let index = 0; index < pairs.length; index += 2) {
    const equals = pairs[index].indexOf('=');
    const name = equals === -1 ? pairs[index] : pairs[index].slice(0, equals);
    if (isCredentialQueryParameter(decodedName(name))) pairs[index] = `${name}=${replace(equals === -1 ? '' : pairs[index].slice(equals + 1))}`;
  }
  return `${url.slice(0, queryStart + 1)}${pairs.join('')}`;
}
