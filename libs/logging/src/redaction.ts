import { CREDENTIAL_HEADERS, CREDENTIAL_QUERY_PARAMETERS, replaceCredentialValues } from '@app/http/credentials';

/** Headers that carry credentials; the access log never writes headers, and CORS allows these. */
export const REDACTED_HEADERS = CREDENTIAL_HEADERS;

/** Query parameters whose values are replaced in every logged URL. */
export const REDACTED_QUERY_PARAMETERS = CREDENTIAL_QUERY_PARAMETERS;

export const REDACTION_CENSOR = '[Redacted]';
const ENCODED_CENSOR = encodeURIComponent(REDACTION_CENSOR);

/**
 * The URL with the value of every credential query parameter replaced — names matched however
 * they are written (any case, percent-encoded, `secret[]=` and other array forms, near-misses such
 * as `a[admin_secret]`) — and the rest left as it was sent.
 */
export function redactUrl(url: string): string {
  return replaceCredentialValues(url, () => ENCODED_CENSOR);
}
