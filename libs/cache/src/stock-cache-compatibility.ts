import { ExecutionContext, Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { MODULE_METADATA } from '@nestjs/common/constants';
import { ModulesContainer } from '@nestjs/core';
import { CACHE_MANAGER, CacheInterceptor, CacheModule as NestCacheModule } from '@nestjs/cache-manager';
import type { Module as ModuleRef } from '@nestjs/core/injector/module';
import { normalizedQuery, principalOf, queryPairsOf } from './http/principal';

/** The `CACHE_MANAGER`s built by `CacheModule.forRoot()`, whose stock interceptors get principal-scoped keys. */
const projectCacheManagers = new WeakSet<object>();

type StockInterceptor = CacheInterceptor & { cacheManager: object };
type RequestLike = { url: string; headers: Record<string, string | string[] | undefined>; query?: unknown; user?: unknown };

/**
 * The stock interceptor's key for `request`, made safe for a cache shared by every caller: a caller
 * with credentials (headers, credential query parameters or an authenticated `request.user`) gets
 * a key of their own, `<key without credential parameters>#principal=<digest>`. An anonymous
 * caller's key is the stock one, so `cacheManager.get('<@CacheKey>')` still finds it.
 */
export function principalScopedKey(key: string, request: RequestLike): string {
  const queryStart = request.url.indexOf('?');
  const query = queryStart === -1 ? [] : queryPairsOf(request, queryStart);
  const principal = principalOf(request, query);
  if (principal === 'anonymous') return key;
  const fromUrl = key === request.url;
  const base = fromUrl && queryStart !== -1 ? `${request.url.slice(0, queryStart)}?${normalizedQuery(query)}` : key;
  return `${base}#principal=${principal}`;
}

/**
 * Whether `module` itself lists `imported`: a global module is in every module's imports, but only
 * the one that registered it is worth naming.
 */
function declares(module: ModuleRef, imported: ModuleRef): boolean {
  if (!imported.isGlobal) return true;
  const declared = (Reflect.getMetadata(MODULE_METADATA.IMPORTS, module.metatype) ?? []) as unknown[];
  return declared.some((entry) => entry === NestCacheModule || (entry as { module?: unknown } | undefined)?.module === NestCacheModule);
}

let trackByScoped = false;

/**
 * `@UseInterceptors(CacheInterceptor)` names the stock class, which keys an entry by the raw URL:
 * credentials would land in the key, and two callers with different credentials would share the
 * entry. Nest builds that class itself wherever it is named, so the one place to fix every use is
 * its `trackBy`: for an interceptor over this project's `CACHE_MANAGER` the key is scoped by
 * {@link principalScopedKey}; over any other cache manager (another app in the process) it is
 * left as it was. A subclass that overrides `trackBy` keeps its own keys.
 */
function scopeStockInterceptorKeys(): void {
  if (trackByScoped) return;
  trackByScoped = true;
  // `trackBy` is protected in the typings, public at run time.
  const prototype = CacheInterceptor.prototype as unknown as { trackBy: (this: StockInterceptor, context: ExecutionContext) => unknown };
  const stockTrackBy = prototype.trackBy;
  prototype.trackBy = function trackBy(this: StockInterceptor, context: ExecutionContext) {
    const key = stockTrackBy.call(this, context);
    if (typeof key !== 'string' || !projectCacheManagers.has(this.cacheManager) || context.getType() !== 'http') return key;
    return principalScopedKey(key, context.switchToHttp().getRequest<RequestLike>());
  };
}

/**
 * Keeps the stock `@nestjs/cache-manager` API on this project's cache: scopes the stock
 * interceptor's keys (above), and refuses to start when a module imports `CacheModule.register()`
 * or `registerAsync()` of `@nestjs/cache-manager` — that creates a private cache (no Redis, no
 * statistics, no inventory, no invalidation) and, with `isGlobal`, a second `CACHE_MANAGER`.
 */
@Injectable()
export class StockCacheCompatibility implements OnModuleInit {
  constructor(
    @Inject(CACHE_MANAGER) private readonly cacheManager: object,
    private readonly modules: ModulesContainer,
  ) {
    projectCacheManagers.add(cacheManager);
    scopeStockInterceptorKeys();
  }

  onModuleInit(): void {
    const importers = [...this.modules.values()]
      .filter((module) => [...module.imports].some((imported) => this.isPrivateCacheModule(imported) && declares(module, imported)))
      .map((module) => module.metatype.name);
    if (importers.length === 0) return;
    throw new Error(
      `${importers.join(', ')} import${importers.length === 1 ? 's' : ''} CacheModule.register()/registerAsync() from ` +
        '@nestjs/cache-manager, which would create a private cache outside this app\'s tiers (no Redis, no stats, ' +
        'no inventory, no invalidation). Remove it from the imports: CACHE_MANAGER, CacheInterceptor, @CacheKey and ' +
        '@CacheTTL already work app-wide through CacheModule.forRoot() of @app/cache; for a namespace of your own, ' +
        'import CacheModule.forFeature(namespace) from @app/cache (see libs/cache/README.md, "The stock API").',
    );
  }

  /** A registration of `@nestjs/cache-manager` other than this library's own (the one providing our cache). */
  private isPrivateCacheModule(module: ModuleRef): boolean {
    return module.metatype === NestCacheModule && module.providers.get(CACHE_MANAGER)?.instance !== this.cacheManager;
  }
}
