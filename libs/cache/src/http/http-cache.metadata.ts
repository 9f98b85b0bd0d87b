import type { ExecutionContext } from '@nestjs/common';
import type { CacheNamespace } from '../namespace';
import type { Duration } from '../ttl';

export const HTTP_CACHE_OPTIONS = 'jarek-va:http-cache-options';

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

/** A route's key instead of its path and query: fixed, or from the request (as `@CacheKey` takes it). */
export type RouteKey = string | ((context: ExecutionContext) => string | undefined);

/** Everything about a cached route, in one place: `@HttpCached(options)`. */
export interface HttpCachedOptions {
  /** Namespace holding the entries. Default: `http`. */
  namespace?: CacheNamespace;
  /** Freshness (ms or `'30s'`; `0`: until invalidated). Default: the namespace's TTL. A stock `@CacheTTL` wins. */
  ttl?: Duration;
  /**
   * The entry's key within the scope, instead of the path and sorted query: a string, or a function
   * of the request. A stock `@CacheKey` wins. The scope is still added: a key never crosses principals.
   */
  key?: RouteKey;
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
