// What a feature uses: the module, a namespace, the decorators, the cache itself.
export { CacheModule } from './cache.module';
export { defineCacheNamespace, type CacheNamespace, type CacheNamespaceOptions } from './namespace';
export { InjectCache } from './inject-cache.decorator';
export { NamespaceCache, Uncacheable, type KeyParts, type SetOptions } from './namespace-cache';
export { HttpCached } from './http/http-cache.decorators';
export type { HttpCachedOptions } from './http/http-cache.metadata';
export { Cacheable, CacheEvict, CachePut } from './method/method-cache.decorators';
export { secretDigest } from './key-builder';
export type { Duration } from './ttl';
// What the platform around it uses: the invalidation bus and the health checks.
export { CacheRegistry, type CacheOverview } from './cache-registry';
export type { NamespaceStatsSnapshot } from './cache-stats';
export { UNTRUSTED_L1_LIFETIME_MS, type EntrySelection, type InvalidationNotice } from './namespace-cache';
