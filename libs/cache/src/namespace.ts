import type { Duration } from './ttl';

/**
 * A cache namespace: a named key space with its own default TTL and L1 bound. Declare one per
 * feature with {@link defineCacheNamespace}, register it with `CacheModule.forFeature(...)` and
 * inject it with `@InjectCache(namespace)`. Two namespaces can never collide.
 */
export interface CacheNamespaceOptions {
  /** Lowercase name, also the key segment: `settings`, `telegram`, `http`. */
  name: string;
  /** Default freshness of an entry (ms, or `'30s'`, `'5m'`…). Required: there is no "forever". */
  ttl: Duration;
  /** L1 bound in entries. Default: `CACHE_L1_MAX_ENTRIES` (10 000). */
  maxEntries?: number;
  /**
   * Longest an entry stays in L1 when Redis is configured (ms or string). It is the backstop for a
   * missed invalidation message from another instance. Default: the smaller of `ttl` and 60 s.
   */
  l1Ttl?: Duration;
  /**
   * Stale-if-error window (ms or string): when a loader fails, a value that expired less than this
   * long ago is served marked STALE instead of failing. Default: 0 (off).
   */
  grace?: Duration;
  /** Whether the namespace uses Redis (when configured). Default true; false keeps it in-process. */
  shared?: boolean;
  /** One line for the inventory: what is cached and what invalidates it. */
  description: string;
}

export interface CacheNamespace extends Readonly<CacheNamespaceOptions> {
  /** The DI token of this namespace's {@link NamespaceCache}. */
  readonly token: string;
}

const NAMESPACE_NAME = /^[a-z][a-z0-9-]{0,31}$/;

/** Declares a namespace; the returned object is both its description and its DI token holder. */
export function defineCacheNamespace(options: CacheNamespaceOptions): CacheNamespace {
  if (!NAMESPACE_NAME.test(options.name)) {
    throw new Error(`Cache namespace "${options.name}" must be 1-32 lowercase letters, digits or dashes`);
  }
  return Object.freeze({ ...options, token: `CacheNamespace:${options.name}` });
}

/** Where `CACHE_MANAGER` keeps its entries (`@CacheKey` keys of the stock interceptor land here). */
export const DEFAULT_NAMESPACE = defineCacheNamespace({
  name: 'default',
  ttl: '5m',
  description: 'CACHE_MANAGER of @nestjs/cache-manager: stock CacheInterceptor entries and direct cache.get/set',
});

/** Route responses cached by `HttpCacheInterceptor` unless a route names another namespace. */
export const HTTP_NAMESPACE = defineCacheNamespace({
  name: 'http',
  ttl: '30s',
  description: 'GET/HEAD route responses (@HttpCached, @CacheKey/@CacheTTL with HttpCacheInterceptor)',
});
