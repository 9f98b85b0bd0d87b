import { Injectable } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { RequestMethod } from '@nestjs/common';
import { CacheRegistry } from './cache-registry';
import { HttpCacheInterceptor } from './http/http-cache.interceptor';
import { RoutePolicyReader } from './http/route-policy';
import { MethodCacheExplorer, type MethodCacheDeclaration } from './method/method-cache.explorer';
import { toMilliseconds } from './ttl';

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
    private readonly policies: RoutePolicyReader,
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
        if (!this.policies.interceptorsOf(controller, handler).includes(HttpCacheInterceptor)) continue;
        const policy = this.policies.of(controller, handler);
        const requestMethod = this.reflector.get<RequestMethod>(METHOD_METADATA, handler);
        routes.push({
          method: RequestMethod[requestMethod] ?? 'GET',
          path: joinPath(
            this.reflector.get<string | string[]>(PATH_METADATA, controller),
            this.reflector.get<string | string[]>(PATH_METADATA, handler),
          ),
          namespace: policy.namespace.name,
          ttlMs:
            policy.ttl === undefined
              ? 'namespace default'
              : typeof policy.ttl === 'function'
                ? 'computed'
                : toMilliseconds(policy.ttl),
          scope: policy.scope,
          tags: typeof policy.tags === 'function' ? 'computed' : policy.tags,
          ...(typeof policy.key === 'string' ? { key: policy.key } : policy.key ? { key: 'computed' } : {}),
          ...(policy.earlyHits ? { earlyHits: true as const } : {}),
        });
      }
    }
    return routes.sort((a, b) => a.path.localeCompare(b.path));
  }
}
