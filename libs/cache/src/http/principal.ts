import { CREDENTIAL_HEADERS, isCredentialQueryParameter } from '@app/http/credentials';
import { secretDigest } from '../key-builder';

interface RequestLike {
  headers: Record<string, string | string[] | undefined>;
  user?: unknown;
}

/**
 * A digest naming the caller: built from an authenticated `request.user` when a guard set one, and
 * from every credential header and credential query parameter present. `anonymous` when there are
 * none, so unauthenticated callers share entries and authenticated ones never do.
 */
export function principalOf(request: RequestLike, query: URLSearchParams): string {
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

/** The query string sorted by name then value, credential parameters removed: `a=1&b=2`. */
export function normalizedQuery(query: URLSearchParams): string {
  const pairs = [...query].filter(([name]) => !isCredentialQueryParameter(name));
  pairs.sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : x > y ? 1 : 0) : a < b ? -1 : 1));
  return new URLSearchParams(pairs).toString();
}
