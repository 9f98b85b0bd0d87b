export { CacheModule } from './cache.module';
export { CacheRegistry, type CacheOverview } from './cache-registry';
export { CacheMaintenance } from './cache-maintenance';
export type { CacheInventory } from './cache-inventory';
export type { NamespaceStatsSnapshot } from './cache-stats';
export { CacheKeyBuilder, secretDigest } from './key-builder';
export {
  defineCacheNamespace,
  DEFAULT_NAMESPACE,
  HTTP_NAMESPACE,
  type CacheNamespace,
  type CacheNamespaceOptions,
} from './namespace';
export {
  NamespaceCache,
  Uncacheable,
  UNTRUSTED_L1_LIFETIME_MS,
  type EntrySelection,
  type InvalidateOptions,
  type InvalidationOutcome,
  type InvalidationListener,
  type InvalidationNotice,
  type KeyParts,
  type LoadResult,
  type LookupStatus,
  type SetOptions,
} from './namespace-cache';
export { InjectCache } from './inject-cache.decorator';
export { toMilliseconds, type Duration } from './ttl';
export { HttpCached, CacheScope, CacheTags } from './http/http-cache.decorators';
export type { CacheScope as CacheScopeName, HttpCachedOptions, RouteTags } from './http/http-cache.metadata';
export { HttpCacheInterceptor } from './http/http-cache.interceptor';
export { installNotModified } from './http/not-modified';
export { HttpCacheEarlyHits, installHttpCacheEarlyHits } from './http/early-hits';
export { Cacheable, CacheEvict, CachePut } from './method/method-cache.decorators';
