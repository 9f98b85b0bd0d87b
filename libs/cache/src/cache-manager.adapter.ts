import { EventEmitter } from 'node:events';
import { Keyv, type KeyvStoreAdapter, type StoredData } from 'keyv';
import { digestCredentialParameters } from './key-builder';
import type { NamespaceCache } from './namespace-cache';

/** What Keyv hands a store when it serializes nothing: the value and its expiry (epoch ms). */
interface KeyvRecord {
  value: unknown;
  expires?: number;
}

/**
 * Lets `@nestjs/cache-manager`'s `CACHE_MANAGER` (cache-manager 7 over Keyv) store into one of our
 * namespaces, so the stock API — `cache.get/set/del/wrap/mget`, the stock `CacheInterceptor`,
 * `@CacheKey` and `@CacheTTL` — gets the same two tiers, key builder, fail-open behaviour and
 * statistics. Keyv's own JSON layer is switched off: L1 keeps the value itself and L2 uses the
 * tier's codec, so a `Date` or a `Map` comes back as one. Keyv turns a TTL of 0 into "none", and
 * so does this store: the entry never expires, as Keyv and cache-manager 7 define it. A credential
 * query parameter in a key (`?token=…`) is stored as its digest, never as it is.
 */
export class NamespaceKeyvStore extends EventEmitter implements KeyvStoreAdapter {
  readonly opts = { dialect: 'jarek-va-tiered' };
  namespace?: string;

  constructor(private readonly cache: NamespaceCache) {
    super();
  }

  async get<Value>(key: string): Promise<StoredData<Value> | undefined> {
    const entry = await this.cache.getEntry<Value>(digestCredentialParameters(key));
    return entry && ({ value: entry.value, expires: entry.expiresAt } as StoredData<Value>);
  }

  async set(key: string, record: KeyvRecord, ttl?: number): Promise<boolean> {
    await this.cache.set(digestCredentialParameters(key), record.value, { ttl: ttl ?? 0 });
    return true;
  }

  async delete(key: string): Promise<boolean> {
    await this.cache.delete(digestCredentialParameters(key));
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
  return new Keyv({
    store: new NamespaceKeyvStore(cache),
    ttl: defaultTtlMs,
    namespace: undefined,
    useKeyPrefix: false,
    serialize: undefined,
    deserialize: undefined,
  });
}
