import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { CacheRegistry } from '../cache-registry';
import type { NamespaceCache } from '../namespace-cache';
import { toMilliseconds } from '../ttl';
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

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly registry: CacheRegistry,
  ) {}

  onModuleInit(): void {
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
      if (cacheable) {
        const key = cacheable.key ? cacheable.key(...args) : [label, JSON.stringify(args)];
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
}
