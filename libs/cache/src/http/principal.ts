import { parse as parseQueryString } from 'fast-querystring';
import { CREDENTIAL_HEADERS, isCredentialQueryParameter } from '@app/http/credentials';
import { secretDigest } from '../key-builder';

/** A query's parameters as name/value pairs, in the order sent. */
export type QueryPairs = readonly (readonly [string, string])[];

interface RequestLike {
  headers: Record<string, string | string[] | undefined>;
  user?: unknown;
}

/**
 * A digest naming the caller: built from an authenticated `request.user` when a guard set one, and
 * from every credential header and credential query parameter present. `anonymous` when there are
 * none, so unauthenticated callers share entries and authenticated ones never do.
 */
export function principalOf(request: RequestLike, query: QueryPairs): string {
  const material: string[] = [];
  if (request.user !== undefined && request.user !== null) material.push(`user=${JSON.stringify(request.user)}`);
  for (const header of CREDENTIAL_HEADERS) {
    const value = request.headers[header];
    if (value !== undefined && value !== '') material.push(`${header}=${Array.isArray(value) ? value.join(',') : value}`);
  }
  for (const [name, value] of query) {
    if (isCredentialQueryParameter(name)) material.push(`?${name}=${value}`);
  }
  return material.length === 0 ? 'anonymous' : secretDigest(material.join('\n'), 'principal');
}

/**
 * The query's parameters as the route reads them: Fastify's parse of the URL (`request.query`), or
 * the same parser's when the request has none. Keying on another decoding would let requests the
 * route tells apart share an entry: `URLSearchParams` reads a malformed escape (`%FF`) as U+FFFD,
 * which Fastify leaves as it is, so `?q=%FF` and `?q=%EF%BF%BD` were one entry.
 */
export function queryPairsOf(request: { url: string; query?: unknown }, queryStart: number): QueryPairs {
  const parsed =
    request.query !== null && typeof request.query === 'object' ? request.query : parseQueryString(request.url.slice(queryStart + 1));
  const pairs: [string, string][] = [];
  for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (Array.isArray(value)) for (const each of value) pairs.push([name, String(each)]);
    else pairs.push([name, String(value)]);
  }
  return pairs;
}

/**
 * The query sorted by name, a repeated name's values in the order sent (a route reads them as an
 * array, whose order it may use), each credential parameter's value replaced by its digest: `a=2&a=1&b=3&token=~<digest>`.
 * Digested, not dropped: a public route's key has no principal, and a route may read such a parameter
 * (a share link's `?token=`), so two values must not share an entry.
 */
export function normalizedQuery(query: QueryPairs): string {
  const pairs = query.map(([name, value]): [string, string] =>
    isCredentialQueryParameter(name) && value !== '' ? [name, `~${secretDigest(value, 'key-parameter')}`] : [name, value],
  );
  // Stable: the values of one name keep their order.
  pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return new URLSearchParams(pairs).toString();
}
