import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { CacheRegistry } from '../cache-registry';
import type { KeyParts, NamespaceCache } from '../namespace-cache';
import { HTTP_CACHE_OPTIONS } from '../http/http-cache.metadata';
import { toMilliseconds } from '../ttl';
import { argumentsKey, UnkeyableArgumentError } from './arguments-key';
import { METHOD_CACHE_OPERATIONS, type MethodCacheOperation } from './method-cache.decorators';

/** One decorated method, for the inventory. */
export interface MethodCacheDeclaration {
  provider: string;
  method: string;
  kind: MethodCacheOperation['kind'];
  namespace: string;
  ttlMs?: number;
  tags?: readonly string[] | 'computed';
  allEntries?: boolean;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any decorated method, whatever its parameters
type AnyMethod = (...args: any[]) => Promise<unknown>;

function resolveTags(
  tags: readonly string[] | ((...values: unknown[]) => readonly string[]) | undefined,
  values: unknown[],
): string[] {
  if (!tags) return [];
  return [...(typeof tags === 'function' ? tags(...values) : tags)];
}

/**
 * Finds `@Cacheable`, `@CacheEvict` and `@CachePut` on provider methods when the app starts and
 * wraps each method of that provider instance with its namespace cache — the same DI-provided
 * cache a route uses, so a background job's lookup is cached exactly as an HTTP read is.
 */
@Injectable()
export class MethodCacheExplorer implements OnModuleInit {
  readonly declarations: MethodCacheDeclaration[] = [];
  private readonly logger = new Logger('Cache');
  /** Methods warned about once for an argument their default key cannot hold. */
  private readonly unkeyableWarned = new Set<string>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly registry: CacheRegistry,
  ) {}

  onModuleInit(): void {
    this.refuseMisplacedDecorators();
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object' || !wrapper.isDependencyTreeStatic()) continue;
      const prototype = Object.getPrototypeOf(instance) as object;
      for (const methodName of this.scanner.getAllMethodNames(prototype)) {
        const original = instance[methodName] as AnyMethod;
        const operations: MethodCacheOperation[] | undefined = Reflect.getMetadata(METHOD_CACHE_OPERATIONS, original);
        if (!operations?.length) continue;
        instance[methodName] = this.wrap(original.bind(instance), operations, `${wrapper.name as string}.${methodName}`);
        for (const operation of operations) this.declare(String(wrapper.name), methodName, operation);
      }
    }
    if (this.declarations.length > 0) this.logger.log(`Method caching on ${this.declarations.length} declaration(s)`);
  }

  /**
   * Stops the boot, naming the method, where a cache decorator would silently do nothing or the
   * wrong thing: `@Cacheable`/`@CacheEvict`/`@CachePut` on a method that is not `async` (the wrapped
   * method returns a promise), on a request-scoped or transient provider (only a singleton's
   * instance is wrapped) or on a controller (a route is cached with `@HttpCached`); `@HttpCached` on
   * a provider that is not a controller (only routes are cached by it).
   */
  private refuseMisplacedDecorators(): void {
    const problems: string[] = [];
    const methodsOf = (...prototypes: unknown[]): [string, unknown][] => {
      const seen = new Set<unknown>();
      return prototypes.flatMap((prototype) => {
        if (typeof prototype !== 'object' || prototype === null || prototype === Object.prototype || seen.has(prototype)) return [];
        seen.add(prototype);
        return this.scanner.getAllMethodNames(prototype).map((name): [string, unknown] => [name, (prototype as Record<string, unknown>)[name]]);
      });
    };
    const prototypeOf = (metatype: unknown): unknown => (typeof metatype === 'function' ? (metatype.prototype as unknown) : undefined);
    for (const wrapper of this.discovery.getProviders()) {
      // The class, and the instance's own class too: a factory or a value provider names no class.
      const instance: unknown = wrapper.isDependencyTreeStatic() ? wrapper.instance : undefined;
      const instancePrototype = typeof instance === 'object' && instance !== null ? Object.getPrototypeOf(instance) : undefined;
      for (const [method, fn] of methodsOf(prototypeOf(wrapper.metatype), instancePrototype)) {
        const where = `${String(wrapper.name)}.${method}`;
        if (typeof fn !== 'function') continue;
        if (Reflect.hasMetadata(HTTP_CACHE_OPTIONS, fn)) problems.push(`@HttpCached on ${where}: only a controller's routes are cached by it; use @Cacheable`);
        if (!Reflect.hasMetadata(METHOD_CACHE_OPERATIONS, fn)) continue;
        if (fn.constructor.name !== 'AsyncFunction') problems.push(`a cache decorator on ${where}: the method must be async (its wrapper returns a promise)`);
        if (!wrapper.isDependencyTreeStatic()) {
          problems.push(`a cache decorator on ${where}: ${String(wrapper.name)} is request-scoped or transient, and only a singleton's instance is wrapped`);
        }
      }
    }
    for (const wrapper of this.discovery.getControllers()) {
      for (const [method, fn] of methodsOf(prototypeOf(wrapper.metatype))) {
        if (typeof fn === 'function' && Reflect.hasMetadata(METHOD_CACHE_OPERATIONS, fn)) {
          problems.push(`@Cacheable/@CacheEvict/@CachePut on the route ${String(wrapper.name)}.${method}: cache a route with @HttpCached`);
        }
      }
    }
    if (problems.length > 0) throw new Error(`Misplaced cache decorators (docs/caching.md, "Caching a service method"): ${problems.join('; ')}`);
  }

  private declare(provider: string, method: string, operation: MethodCacheOperation): void {
    const tags = 'tags' in operation ? operation.tags : undefined;
    this.declarations.push({
      provider,
      method,
      kind: operation.kind,
      namespace: operation.namespace.name,
      ...('ttl' in operation && operation.ttl !== undefined ? { ttlMs: toMilliseconds(operation.ttl) } : {}),
      ...(tags ? { tags: typeof tags === 'function' ? 'computed' : tags } : {}),
      ...(operation.kind === 'evict' && operation.allEntries ? { allEntries: true } : {}),
    });
  }

  private wrap(method: AnyMethod, operations: MethodCacheOperation[], label: string): AnyMethod {
    const caches = new Map<MethodCacheOperation, NamespaceCache>(
      operations.map((operation) => [operation, this.registry.namespace(operation.namespace)]),
    );
    const evictions = operations.filter((operation) => operation.kind === 'evict');
    const puts = operations.filter((operation) => operation.kind === 'put');
    const cacheable = operations.find((operation) => operation.kind === 'cacheable');

    const evict = async (operation: Extract<MethodCacheOperation, { kind: 'evict' }>, args: unknown[]) => {
      const cache = caches.get(operation)!;
      // One invalidation for keys and tags together: one L2 round and one bus event per eviction.
      await cache.invalidate(
        operation.allEntries
          ? { all: true }
          : { keys: (operation.keys?.(...args) ?? []).map((parts) => cache.key(parts)), tags: resolveTags(operation.tags, args) },
      );
    };

    return async (...args: unknown[]) => {
      for (const operation of evictions) if (operation.beforeInvocation) await evict(operation, args);
      const invoke = async () => {
        const result = await method(...args);
        for (const operation of puts) {
          await caches.get(operation)!.set(operation.key(...args), result, {
            ttl: operation.ttl,
            tags: resolveTags(operation.tags, [result, ...args]),
          });
        }
        return result;
      };
      let result: unknown;
      const key = cacheable ? this.keyOf(cacheable, args, label) : undefined;
      if (cacheable && key !== undefined) {
        result = await caches.get(cacheable)!.wrap(key, invoke, {
          ttl: cacheable.ttl,
          tags: (value) => resolveTags(cacheable.tags, [value, ...args]),
        });
      } else {
        result = await invoke();
      }
      for (const operation of evictions) if (!operation.beforeInvocation) await evict(operation, args);
      return result;
    };
  }

  /**
   * The call's key: the decorator's `key`, else the method and a digest of its arguments
   * ({@link argumentsKey}); `undefined` when the arguments cannot make a key, and the call runs
   * uncached (warned once per method).
   */
  private keyOf(cacheable: Extract<MethodCacheOperation, { kind: 'cacheable' }>, args: unknown[], label: string): KeyParts | undefined {
    if (cacheable.key) return cacheable.key(...args);
    try {
      return [label, argumentsKey(args)];
    } catch (error) {
      if (!(error instanceof UnkeyableArgumentError)) throw error;
      if (!this.unkeyableWarned.has(label)) {
        this.unkeyableWarned.add(label);
        this.logger.warn(`@Cacheable ${label} runs uncached: an argument cannot make a key (${error.message}); give the decorator a key`);
      }
      return undefined;
    }
  }
}
