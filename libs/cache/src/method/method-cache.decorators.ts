import { SetMetadata } from '@nestjs/common';
import type { CacheNamespace } from '../namespace';
import type { KeyParts } from '../namespace-cache';
import type { Duration } from '../ttl';

export const METHOD_CACHE_OPERATIONS = 'jarek-va:method-cache-operations';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each decorated method has its own parameter types
type Args = any[];

/** The key of a call, from its arguments (namespace-local parts; never a raw secret). */
export type KeyFunction = (...args: Args) => KeyParts;

export interface CacheableOptions {
  namespace: CacheNamespace;
  /** Key of a call. Default: `<Provider>.<method>` and a digest of the arguments (`argumentsKey`); give one for arguments it cannot write, such as class instances. */
  key?: KeyFunction;
  /** Freshness (ms or `'5m'`). Default: the namespace's TTL. */
  ttl?: Duration;
  /** Tags of the stored value, from the arguments and the result. */
  tags?: readonly string[] | ((result: unknown, ...args: Args) => readonly string[]);
}

export interface CacheEvictOptions {
  namespace: CacheNamespace;
  /** Keys to delete, from the arguments. */
  keys?: (...args: Args) => readonly KeyParts[];
  /** Tags to invalidate: fixed, or from the arguments. */
  tags?: readonly string[] | ((...args: Args) => readonly string[]);
  /** Empty the whole namespace. */
  allEntries?: boolean;
  /**
   * Evict before the method runs instead of after it returns. After (the default) does not evict
   * when the method throws; before always evicts.
   */
  beforeInvocation?: boolean;
}

export interface CachePutOptions {
  namespace: CacheNamespace;
  /** Key the result is stored under, from the arguments. */
  key: KeyFunction;
  ttl?: Duration;
  tags?: readonly string[] | ((result: unknown, ...args: Args) => readonly string[]);
}

export type MethodCacheOperation =
  | ({ kind: 'cacheable' } & CacheableOptions)
  | ({ kind: 'evict' } & CacheEvictOptions)
  | ({ kind: 'put' } & CachePutOptions);

function addOperation(operation: MethodCacheOperation): MethodDecorator {
  return (target, propertyKey, descriptor) => {
    const existing: MethodCacheOperation[] = Reflect.getMetadata(METHOD_CACHE_OPERATIONS, descriptor.value as object) ?? [];
    SetMetadata(METHOD_CACHE_OPERATIONS, [...existing, operation])(target, propertyKey, descriptor);
  };
}

/**
 * Caches an async provider method's result (Spring's `@Cacheable`): a fresh cached value skips the
 * call, concurrent calls with one key share one execution, `undefined` is never stored. Applies to
 * methods of Nest-managed singleton providers (wrapped when the app starts).
 *
 * @example
 *   @Cacheable({ namespace: SETTINGS_CACHE, key: (name: string) => ['setting', name], tags: ['settings'] })
 *   async find(name: string) { … }
 */
export const Cacheable = (options: CacheableOptions): MethodDecorator => addOperation({ kind: 'cacheable', ...options });

/** Invalidates keys, tags or a whole namespace around an async method (Spring's `@CacheEvict`). */
export const CacheEvict = (options: CacheEvictOptions): MethodDecorator => addOperation({ kind: 'evict', ...options });

/** Always runs the method and stores its result under the key (Spring's `@CachePut`). */
export const CachePut = (options: CachePutOptions): MethodDecorator => addOperation({ kind: 'put', ...options });
