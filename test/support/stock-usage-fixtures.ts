import { Controller, Get, Inject, Module, Param, Query, UseInterceptors } from '@nestjs/common';
import { CACHE_MANAGER, CacheInterceptor, CacheModule, CacheTTL } from '@nestjs/cache-manager';
import type { Cache } from 'cache-manager';

/**
 * Routes written the way `@nestjs/cache-manager`'s own documentation and e2e suite write them:
 * the stock interceptor with a method TTL and a controller TTL, the module default TTL through
 * `CACHE_MANAGER`, and the `CACHE_MANAGER` API itself. No import of this project's cache library.
 */
@Controller('upstream/custom-ttl')
@CacheTTL(600)
export class CustomTtlController {
  counter = 0;

  @Get()
  @CacheTTL(500)
  @UseInterceptors(CacheInterceptor)
  getNumber() {
    return this.counter++;
  }

  @Get('/controller')
  @UseInterceptors(CacheInterceptor)
  getNumberWithControllerTTL() {
    return this.counter++;
  }
}

@Controller('upstream/default-ttl')
export class DefaultTtlController {
  constructor(@Inject(CACHE_MANAGER) readonly cacheManager: Cache) {}

  @Get()
  async getFromStore(): Promise<unknown> {
    const value = await this.cacheManager.get('key');
    if (!value) {
      await this.cacheManager.set('key', 'value');
    }
    return value ?? 'Not found';
  }
}

/** The `CACHE_MANAGER` calls of the upstream suite, one route each. */
@Controller('upstream/manager')
export class CacheManagerController {
  loads = 0;

  constructor(@Inject(CACHE_MANAGER) readonly cacheManager: Cache) {}

  @Get('set/:key/:value')
  async set(@Param('key') key: string, @Param('value') value: string, @Query('ttl') ttl?: string) {
    await this.cacheManager.set(key, value, ttl === undefined ? undefined : Number(ttl));
    return { ok: true };
  }

  @Get('get/:key')
  async get(@Param('key') key: string) {
    return { value: (await this.cacheManager.get(key)) ?? null };
  }

  @Get('del/:key')
  async del(@Param('key') key: string) {
    return { deleted: await this.cacheManager.del(key) };
  }

  @Get('mget')
  async mget(@Query('keys') keys: string) {
    return { values: (await this.cacheManager.mget(keys.split(','))).map((value) => value ?? null) };
  }

  @Get('wrap/:key')
  async wrap(@Param('key') key: string) {
    return { value: await this.cacheManager.wrap(key, async () => `loaded-${++this.loads}`, 60_000) };
  }
}

/** A route behind credentials cached by the stock interceptor, keyed by its URL. */
@Controller('upstream/a2')
export class CredentialRouteController {
  counter = 0;

  @Get('controller')
  @UseInterceptors(CacheInterceptor)
  answer() {
    return { calls: ++this.counter };
  }
}

@Module({ controllers: [CustomTtlController, DefaultTtlController, CacheManagerController, CredentialRouteController] })
export class StockUsageModule {}

/** What the upstream examples put in a feature module: a private cache, which the app refuses. */
@Module({ imports: [CacheModule.register()], controllers: [CustomTtlController] })
export class CustomTtlModule {}

/** The global variant, which would make `app.get(CACHE_MANAGER)` a second cache. */
@Module({ imports: [CacheModule.registerAsync({ isGlobal: true, useFactory: () => ({ ttl: 1_000 }) })] })
export class GlobalStockCacheModule {}
