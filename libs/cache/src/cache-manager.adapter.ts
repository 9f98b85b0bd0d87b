import { EventEmitter } from 'node:events';
import { Keyv, type KeyvStoreAdapter, type StoredData } from 'keyv';
import type { NamespaceCache } from './namespace-cache';

/**
 * Lets `@nestjs/cache-manager`'s `CACHE_MANAGER` (cache-manager 7 over Keyv) store into one of our
 * namespaces, so the stock API — `cache.get/set/del`, the stock `CacheInterceptor`, `@CacheKey` and
 * `@CacheTTL` — gets the same two tiers, key builder, fail-open behaviour and statistics.
 */
export class NamespaceKeyvStore extends EventEmitter implements KeyvStoreAdapter {
  readonly opts = { dialect: 'jarek-va-tiered' };
  namespace?: string;

  constructor(private readonly cache: NamespaceCache) {
    super();
  }

  async get<Value>(key: string): Promise<StoredData<Value> | undefined> {
    return this.cache.get<StoredData<Value>>(key);
  }

  async set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    await this.cache.set(key, value, ttl === undefined ? {} : { ttl });
    return true;
  }

  async delete(key: string): Promise<boolean> {
    await this.cache.delete(key);
    return true;
  }

  async clear(): Promise<void> {
    await this.cache.clear();
  }

  async disconnect(): Promise<void> {
    // The Redis connection belongs to the Redis module, which closes it on shutdown.
  }
}

/** A Keyv over {@link NamespaceKeyvStore}, with keys left as given (the namespace prefixes them). */
export function createNamespaceKeyv(cache: NamespaceCache, defaultTtlMs: number): Keyv {
  return new Keyv({ store: new NamespaceKeyvStore(cache), ttl: defaultTtlMs, namespace: undefined, useKeyPrefix: false });
}
