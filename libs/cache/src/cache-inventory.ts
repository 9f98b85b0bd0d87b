import { Injectable } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { CACHE_KEY_METADATA, CACHE_TTL_METADATA } from '@nestjs/cache-manager';
import { INTERCEPTORS_METADATA, METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { RequestMethod } from '@nestjs/common';
import { CacheRegistry } from './cache-registry';
import { HttpCacheInterceptor } from './http/http-cache.interceptor';
import { HTTP_CACHE_OPTIONS, HTTP_CACHE_SCOPE, HTTP_CACHE_TAGS, type HttpCachedOptions } from './http/http-cache.metadata';
import { MethodCacheExplorer, type MethodCacheDeclaration } from './method/method-cache.explorer';
import { HTTP_NAMESPACE } from './namespace';
import { toMilliseconds, type Duration } from './ttl';

export interface NamespaceDeclaration {
  namespace: string;
  tiers: readonly string[];
  ttlMs: number;
  l1TtlMs: number;
  graceMs: number;
  maxEntries: number;
  description: string;
}

export interface RouteCacheDeclaration {
  method: string;
  path: string;
  namespace: string;
  ttlMs: number | 'computed' | 'namespace default';
  scope: string;
  tags: readonly string[] | 'computed';
  key?: string;
  /** L1 hits answered before Nest's pipeline (`@HttpCached({ earlyHits: true })`). */
  earlyHits?: true;
}

export interface CacheInventory {
  namespaces: NamespaceDeclaration[];
  routes: RouteCacheDeclaration[];
  methods: MethodCacheDeclaration[];
}

function joinPath(...segments: (string | string[] | undefined)[]): string {
  const parts = segments.map((segment) => (Array.isArray(segment) ? segment[0] : segment) ?? '');
  return `/${parts.map((part) => part.replace(/^\/+|\/+$/g, '')).filter(Boolean).join('/')}`;
}

/**
 * Everything the running app declares as cached, read from the declarations themselves (namespace
 * definitions, route and method decorators), so the documented inventory cannot drift from code.
 */
@Injectable()
export class CacheInventoryService {
  constructor(
    private readonly registry: CacheRegistry,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    private readonly methods: MethodCacheExplorer,
  ) {}

  inventory(): CacheInventory {
    return {
      namespaces: this.registry.all().map((cache) => ({
        namespace: cache.name,
        tiers: cache.tiers,
        ttlMs: cache.settings.ttlMs,
        l1TtlMs: cache.tiers.includes('l2') ? Math.min(cache.settings.l1TtlMs, cache.settings.ttlMs) : cache.settings.ttlMs,
        graceMs: cache.settings.graceMs,
        maxEntries: cache.settings.maxEntries,
        description: cache.settings.definition.description,
      })),
      routes: this.routes(),
      methods: [...this.methods.declarations],
    };
  }

  private routes(): RouteCacheDeclaration[] {
    const routes: RouteCacheDeclaration[] = [];
    for (const wrapper of this.discovery.getControllers()) {
      const controller = wrapper.metatype as (new (...args: unknown[]) => unknown) | undefined;
      if (!controller) continue;
      for (const name of this.scanner.getAllMethodNames(controller.prototype)) {
        const handler = (controller.prototype as Record<string, unknown>)[name] as () => unknown;
        if (!this.isCachedRoute(controller, handler)) continue;
        const read = <T>(key: string) => this.reflector.getAllAndOverride<T | undefined>(key, [handler, controller]);
        const options = read<HttpCachedOptions>(HTTP_CACHE_OPTIONS) ?? {};
        const ttl = read<unknown>(CACHE_TTL_METADATA) ?? options.ttl;
        const tags = read<unknown>(HTTP_CACHE_TAGS) ?? options.tags ?? [];
        const key = this.reflector.get<unknown>(CACHE_KEY_METADATA, handler);
        const requestMethod = this.reflector.get<RequestMethod>(METHOD_METADATA, handler);
        routes.push({
          method: RequestMethod[requestMethod] ?? 'GET',
          path: joinPath(
            this.reflector.get<string | string[]>(PATH_METADATA, controller),
            this.reflector.get<string | string[]>(PATH_METADATA, handler),
          ),
          namespace: (options.namespace ?? HTTP_NAMESPACE).name,
          ttlMs:
            ttl === undefined
              ? 'namespace default'
              : typeof ttl === 'function'
                ? 'computed'
                : toMilliseconds(ttl as Duration),
          scope: read<string>(HTTP_CACHE_SCOPE) ?? options.scope ?? 'principal',
          tags: typeof tags === 'function' ? 'computed' : (tags as readonly string[]),
          ...(typeof key === 'string' ? { key } : key ? { key: 'computed' } : {}),
          ...(options.earlyHits ? { earlyHits: true as const } : {}),
        });
      }
    }
    return routes.sort((a, b) => a.path.localeCompare(b.path));
  }

  private isCachedRoute(controller: object, handler: object): boolean {
    const interceptors = [
      ...((this.reflector.get<unknown[]>(INTERCEPTORS_METADATA, controller as never) ?? []) as unknown[]),
      ...((this.reflector.get<unknown[]>(INTERCEPTORS_METADATA, handler as never) ?? []) as unknown[]),
    ];
    return interceptors.includes(HttpCacheInterceptor);
  }
}
