import { DynamicModule, Global, Module, Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { CacheModule as NestCacheModule } from '@nestjs/cache-manager';
import { AppConfig } from '@app/config';
import { CacheAdminController } from './admin/cache-admin.controller';
import { createNamespaceKeyv } from './cache-manager.adapter';
import { CacheInventoryService } from './cache-inventory';
import { CacheMaintenance } from './cache-maintenance';
import { CacheMetrics } from './cache-metrics';
import { CacheRegistry } from './cache-registry';
import { HttpCacheEarlyHits } from './http/early-hits';
import { CacheFastifyHooks } from './http/fastify-hooks';
import { HttpCacheInterceptor } from './http/http-cache.interceptor';
import { RoutePolicyReader } from './http/route-policy';
import { MethodCacheExplorer } from './method/method-cache.explorer';
import { StockCacheCompatibility } from './stock-cache-compatibility';
import { DEFAULT_NAMESPACE, HTTP_NAMESPACE, type CacheNamespace } from './namespace';

function namespaceProviders(namespaces: readonly CacheNamespace[]): Provider[] {
  return namespaces.map((namespace) => ({
    provide: namespace.token,
    inject: [CacheRegistry],
    useFactory: (registry: CacheRegistry) => registry.namespace(namespace),
  }));
}

/** Holds the registry on its own so `@nestjs/cache-manager`'s async registration can inject it. */
@Global()
@Module({ providers: [CacheRegistry], exports: [CacheRegistry] })
class CacheCoreModule {}

/**
 * The caching platform. `CacheModule.forRoot()` once in the app module gives every feature:
 * - `CACHE_MANAGER` of `@nestjs/cache-manager`, backed by the two-tier `default` namespace;
 * - `HttpCacheInterceptor` / `@HttpCached` for routes, `@Cacheable` / `@CacheEvict` / `@CachePut`
 *   for provider methods;
 * - `/admin/cache/stats`, `/admin/cache/inventory`, the `cache_*` series in `MetricsModule`'s
 *   registry and the L1 prune job;
 * - on Fastify, its own hooks for 304 answers and early hits (nothing to install in `main.ts`).
 * Requires `ScheduleModule.forRoot()` and `MetricsModule` in the app. A feature declares its namespace and imports
 * `CacheModule.forFeature(MY_NAMESPACE)` to inject it with `@InjectCache(MY_NAMESPACE)`.
 */
@Module({})
export class CacheModule {
  static forRoot(): DynamicModule {
    return {
      module: CacheModule,
      global: true,
      imports: [
        DiscoveryModule,
        CacheCoreModule,
        NestCacheModule.registerAsync({
          isGlobal: true,
          inject: [CacheRegistry, AppConfig],
          useFactory: (registry: CacheRegistry, config: AppConfig) => ({
            stores: [createNamespaceKeyv(registry.namespace(DEFAULT_NAMESPACE), config.cache.defaultTtlMs)],
            ttl: config.cache.defaultTtlMs,
          }),
        }),
      ],
      controllers: [CacheAdminController],
      providers: [
        RoutePolicyReader,
        HttpCacheInterceptor,
        HttpCacheEarlyHits,
        CacheFastifyHooks,
        MethodCacheExplorer,
        CacheInventoryService,
        CacheMaintenance,
        CacheMetrics,
        StockCacheCompatibility,
        ...namespaceProviders([DEFAULT_NAMESPACE, HTTP_NAMESPACE]),
      ],
      exports: [
        NestCacheModule,
        RoutePolicyReader,
        HttpCacheInterceptor,
        CacheMaintenance,
        ...[DEFAULT_NAMESPACE, HTTP_NAMESPACE].map((namespace) => namespace.token),
      ],
    };
  }

  /** Makes `namespaces` injectable with `@InjectCache(namespace)` in the importing module. */
  static forFeature(...namespaces: CacheNamespace[]): DynamicModule {
    const providers = namespaceProviders(namespaces);
    return { module: CacheModule, providers, exports: providers.map((provider) => (provider as { provide: string }).provide) };
  }
}
