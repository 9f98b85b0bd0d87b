import { EventEmitter } from 'node:events';
import {
  CallHandler,
  Controller,
  ExecutionContext,
  Get,
  Inject,
  Injectable,
  Module,
  NestInterceptor,
  UseInterceptors,
} from '@nestjs/common';
import type { Observable } from 'rxjs';
import { Reflector } from '@nestjs/core';
import { CacheInterceptor, CacheKey, CacheTTL } from '@nestjs/cache-manager';
import { createCache, type Cache } from 'cache-manager';
import { redisInsStore } from 'cache-manager-ioredis-yet';
import type Redis from 'ioredis';
import { Keyv } from 'keyv';
import { CacheModule, defineCacheNamespace, HttpCached } from '@app/cache';
import { REDIS_CLIENT } from '@app/redis';

/** The data every variant serves: a settings-like object of realistic size. */
const PAYLOAD = {
  settings: Array.from({ length: 20 }, (_, index) => ({ name: `setting_${index}`, value: `value-${index}`, enabled: index % 2 === 0 })),
};

export const loaderCalls = { ours: 0, stock: 0 };

/** L1 entries live 1 ms, so every read of this namespace goes to Redis: the L2-only variant. */
const L2_ONLY = defineCacheNamespace({ name: 'bench-l2', ttl: '1m', l1Ttl: 1, description: 'benchmark: L2 only' });

const STOCK_REDIS_CACHE = 'BENCH_STOCK_REDIS_CACHE';

/** What a team gets from the docs: the stock interceptor over a cache-manager with only a Redis store. */
@Injectable()
class StockRedisCacheInterceptor extends CacheInterceptor {
  constructor(@Inject(STOCK_REDIS_CACHE) cache: Cache, reflector: Reflector) {
    super(cache, reflector);
  }
}

/** `cache-manager-ioredis-yet`'s store as a Keyv store, which is how cache-manager 7 takes stores. */
class IoredisYetKeyvStore extends EventEmitter {
  readonly opts = {};
  private readonly store: { get(key: string): Promise<unknown>; set(key: string, value: unknown, ttl?: number): Promise<void>; del(key: string): Promise<void> };

  constructor(redis: Redis) {
    super();
    this.store = redisInsStore(redis) as never;
  }

  get(key: string) {
    return this.store.get(key) as Promise<never>;
  }

  async set(key: string, value: unknown, ttl?: number) {
    await this.store.set(key, value, ttl);
    return true;
  }

  async delete(key: string) {
    await this.store.del(key);
    return true;
  }

  async clear() {}
}

/** Does nothing: measures what any interceptor costs in Nest's pipeline, the floor of route caching. */
@Injectable()
class NoopInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle();
  }
}

@Controller('bench')
class BenchController {
  @Get('trivial')
  trivial() {
    return PAYLOAD;
  }

  @Get('noop-interceptor')
  @UseInterceptors(NoopInterceptor)
  noopInterceptor() {
    return PAYLOAD;
  }

  @Get('ours')
  @HttpCached({ scope: 'public', ttl: '1m' })
  ours() {
    return PAYLOAD;
  }

  @Get('ours-early')
  @HttpCached({ scope: 'public', ttl: '1m', earlyHits: true })
  oursEarly() {
    return PAYLOAD;
  }

  @Get('ours-l2')
  @HttpCached({ scope: 'public', ttl: '1m', namespace: L2_ONLY })
  oursL2() {
    return PAYLOAD;
  }

  @Get('stock-redis')
  @UseInterceptors(StockRedisCacheInterceptor)
  stockRedis() {
    return PAYLOAD;
  }

  @Get('cold-ours')
  @HttpCached({ scope: 'public', ttl: '1m' })
  async coldOurs() {
    loaderCalls.ours += 1;
    await new Promise((resolve) => setTimeout(resolve, 20));
    return PAYLOAD;
  }

  @Get('cold-stock')
  @UseInterceptors(StockRedisCacheInterceptor)
  @CacheKey(() => `bench-cold-stock-${process.pid}`)
  @CacheTTL(60_000)
  async coldStock() {
    loaderCalls.stock += 1;
    await new Promise((resolve) => setTimeout(resolve, 20));
    return PAYLOAD;
  }
}

@Module({
  imports: [CacheModule.forFeature(L2_ONLY)],
  controllers: [BenchController],
  providers: [
    StockRedisCacheInterceptor,
    {
      provide: STOCK_REDIS_CACHE,
      inject: [REDIS_CLIENT],
      useFactory: (redis: Redis) => createCache({ stores: [new Keyv({ store: new IoredisYetKeyvStore(redis) })], ttl: 60_000 }),
    },
  ],
})
export class BenchFixturesModule {}
