/**
 * The peers this app is measured against, built as their own documentation builds them: a bare
 * Fastify server answering a prepared Buffer, and a stock NestJS 11 + Fastify app with a trivial
 * route, a route whose interceptor answers a prepared string, `@nestjs/cache-manager`'s
 * `CacheInterceptor` over an in-memory Keyv or `@keyv/redis`, and the trivial route with
 * nestjs-pino's request logging (the usual way a Nest app gets request ids and an access line).
 */
import { Controller, Get, Module, UseInterceptors, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CacheInterceptor, CacheKey, CacheModule, CacheTTL } from '@nestjs/cache-manager';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import KeyvRedis from '@keyv/redis';
import { Logger, LoggerModule } from 'nestjs-pino';
import Fastify, { type FastifyInstance } from 'fastify';
import { Keyv } from 'keyv';
import { BENCH_PAYLOAD } from './bench-payload';
import { PreparedAnswerInterceptor } from './prepared-answer.interceptor';

export const stockLoaderCalls = { cold: 0 };

/** Fastify with one route answering the payload's bytes: the ceiling of any Node HTTP framework here. */
export async function startBareFastify(): Promise<{ port: number; close(): Promise<void> }> {
  const body = Buffer.from(JSON.stringify(BENCH_PAYLOAD));
  const fastify: FastifyInstance = Fastify({ logger: false });
  fastify.get('/bench/trivial', (_request, reply) => {
    void reply.header('content-type', 'application/json; charset=utf-8').send(body);
  });
  await fastify.listen({ port: 0, host: '127.0.0.1' });
  const address = fastify.server.address();
  return { port: typeof address === 'object' && address ? address.port : 0, close: () => fastify.close() };
}

@Controller('bench')
class StockController {
  @Get('trivial')
  trivial() {
    return BENCH_PAYLOAD;
  }

  @Get('interceptor-floor')
  @UseInterceptors(PreparedAnswerInterceptor)
  interceptorFloor() {
    return BENCH_PAYLOAD;
  }
}

@Controller('bench')
@UseInterceptors(CacheInterceptor)
class StockCachedController {
  @Get('cached')
  cached() {
    return BENCH_PAYLOAD;
  }

  @Get('cold')
  @CacheKey(`bench-cold-stock-${process.pid}`)
  @CacheTTL(60_000)
  async cold() {
    stockLoaderCalls.cold += 1;
    await new Promise((resolve) => setTimeout(resolve, 20));
    return BENCH_PAYLOAD;
  }

  @Get('loader-calls')
  loaderCalls() {
    return stockLoaderCalls;
  }
}

/** Which stock app: no cache, `CacheInterceptor` over an in-memory or Redis store, or nestjs-pino's request logging. */
export type StockVariant = 'none' | 'memory' | 'redis' | 'pino';

@Module({})
class StockAppModule {
  static forVariant(variant: StockVariant, redisUrl: string, keyPrefix: string): DynamicModule {
    if (variant === 'none') return { module: StockAppModule, controllers: [StockController] };
    // nestjs-pino's README setup: pino-http's request id and one "request completed" line a request, at info.
    if (variant === 'pino') return { module: StockAppModule, imports: [LoggerModule.forRoot()], controllers: [StockController] };
    const keyv =
      variant === 'memory'
        ? new Keyv({ namespace: keyPrefix })
        : new Keyv({ store: new KeyvRedis(redisUrl, { namespace: keyPrefix }), namespace: keyPrefix });
    return {
      module: StockAppModule,
      imports: [CacheModule.register({ stores: [keyv], ttl: 60_000 })],
      controllers: [StockCachedController],
    };
  }
}

/**
 * A stock NestJS 11 app on Fastify, default settings, Nest's own logger at warn — or, with nestjs-pino,
 * that logger in Nest's place as its README sets it up.
 */
export async function startStockNest(variant: StockVariant, redisUrl: string, keyPrefix: string): Promise<{ port: number; close(): Promise<void> }> {
  const app = await NestFactory.create<NestFastifyApplication>(
    StockAppModule.forVariant(variant, redisUrl, keyPrefix),
    new FastifyAdapter(),
    variant === 'pino' ? { bufferLogs: true } : { logger: ['error', 'warn'] },
  );
  if (variant === 'pino') app.useLogger(app.get(Logger));
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address();
  return { port: typeof address === 'object' && address ? address.port : 0, close: () => app.close() };
}
