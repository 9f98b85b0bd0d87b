import type { CacheNamespace } from '../namespace';
import type { Duration } from '../ttl';

export const HTTP_CACHE_OPTIONS = 'jarek-va:http-cache-options';
export const HTTP_CACHE_SCOPE = 'jarek-va:http-cache-scope';
export const HTTP_CACHE_TAGS = 'jarek-va:http-cache-tags';

/**
 * Who a cached response may be served to.
 * - `principal` (the default): the key carries a digest of the caller's credentials, so two callers
 *   with different credentials never share an entry.
 * - `public`: one entry for everyone; declare it only when the response does not depend on who asks.
 */
export type CacheScope = 'public' | 'principal';

/** The request a tag function sees: path parameters and the parsed query. */
export interface TagSource {
  params: Record<string, string>;
  query: Record<string, unknown>;
}

export type RouteTags = readonly string[] | ((request: TagSource) => readonly string[]);

export interface HttpCachedOptions {
  /** Namespace holding the entries. Default: `http`. */
  namespace?: CacheNamespace;
  /** Freshness (ms or `'30s'`). `@CacheTTL` wins when both are present. Default: the namespace's TTL. */
  ttl?: Duration;
  /** Tags for invalidating the route's entries together with the data they show. */
  tags?: RouteTags;
  /** Default `principal`; see {@link CacheScope}. */
  scope?: CacheScope;
  /**
   * Answer L1 hits in a Fastify `onRequest` hook, before Nest's middleware, guards, pipes and interceptors —
   * the hot path of a public read-mostly route (see docs/caching.md, "Early hits"). Misses, L2
   * hits and revalidation still go through Nest. Only for GET routes declared `scope: 'public'`
   * with no guard and no other interceptor, in an app without global guards or interceptors, and
   * a string `@CacheKey` if any: the app refuses to start otherwise. Default false.
   */
  earlyHits?: boolean;
}

