import { Controller, Get, Inject, UseInterceptors } from '@nestjs/common';
import { CACHE_MANAGER, CacheInterceptor, CacheKey, CacheTTL } from '@nestjs/cache-manager';
import type { Cache } from 'cache-manager';

/**
 * The stock API, unchanged: `CACHE_MANAGER` is this app's two-tier `default` namespace and the
 * stock interceptor stores there. Do not import `CacheModule.register()`: the app refuses it.
 */
@Controller('example/stock')
export class StockApiController {
  greetings = 0;

  constructor(@Inject(CACHE_MANAGER) private readonly cache: Cache) {}

  @Get('greeting')
  @UseInterceptors(CacheInterceptor)
  @CacheKey('example-greeting')
  @CacheTTL(60_000)
  greeting() {
    return { greeting: `hello #${++this.greetings}` };
  }

  @Get('visits')
  async visits() {
    const visits = ((await this.cache.get<number>('example-visits')) ?? 0) + 1;
    await this.cache.set('example-visits', visits, 60_000);
    return { visits };
  }
}
