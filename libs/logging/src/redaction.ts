import { CREDENTIAL_HEADERS, CREDENTIAL_QUERY_PARAMETERS, isCredentialQueryParameter } from '@app/http/credentials';

/** Headers that carry credentials; the access log never writes headers, and CORS allows these. */
export const REDACTED_HEADERS = CREDENTIAL_HEADERS;

/** Query parameters whose values are replaced in every logged URL. */
export const REDACTED_QUERY_PARAMETERS = CREDENTIAL_QUERY_PARAMETERS;

export const REDACTION_CENSOR = '[Redacted]';
const ENCODED_CENSOR = encodeURIComponent(REDACTION_CENSOR);

/** A query parameter's name as a query parser reads it: `+` is a space, `%xx` decoded. */
function decodedName(raw: string): string {
  const name = raw.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}

/**
 * The URL with the value of every credential query parameter replaced — names matched however
 * they are written (any case, percent-encoded, `secret[]=` and other array forms) — and the rest
 * left as it was sent. Everything after the `?` is the query, a `#` included: a request target has no
 * fragment, and the server's query parser reads past one, so `?x#&secret=…` authenticates.
 */
export function redactUrl(url: string): string {
  const queryStart = url.indexOf('?');
  if (queryStart === -1) return url;
  const pairs = url.slice(queryStart + 1).split(/([&;])/);
  for (let index = 0; index < pairs.length; index += 2) {
    const equals = pairs[index].indexOf('=');
    const name = equals === -1 ? pairs[index] : pairs[index].slice(0, equals);
    if (isCredentialQueryParameter(decodedName(name))) pairs[index] = `${name}=${ENCODED_CENSOR}`;
  }
  return `${url.slice(0, queryStart + 1)}${pairs.join('')}`;
}
