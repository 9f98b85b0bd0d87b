import { CREDENTIAL_HEADERS, CREDENTIAL_QUERY_PARAMETERS } from '@app/http/credentials';

/** Headers whose values are replaced in every log line. */
export const REDACTED_HEADERS = CREDENTIAL_HEADERS;

/** Query parameters whose values are replaced in every logged URL. */
export const REDACTED_QUERY_PARAMETERS = CREDENTIAL_QUERY_PARAMETERS;

export const REDACTION_CENSOR = '[Redacted]';

const secretQueryParameter = new RegExp(
  `([?&](?:${REDACTED_QUERY_PARAMETERS.join('|')})=)[^&#]*`,
  'gi',
);

/** The URL with the values of secret query parameters replaced. */
export function redactUrl(url: string): string {
  return url.replace(secretQueryParameter, `$1${encodeURIComponent(REDACTION_CENSOR)}`);
}
