import { Global, Module } from '@nestjs/common';
import { AppConfig } from '@app/config';
import { REDIS_CLIENT, REDIS_SUBSCRIBER, type RedisConnection } from '@app/redis';
import { CacheInvalidationController } from './cache-invalidation.controller';
import { CacheInvalidationService } from './cache-invalidation.service';
import { InvalidationMetrics } from './invalidation-metrics';
import {
  InvalidationTransport,
  LocalInvalidationTransport,
  RedisInvalidationTransport,
} from './invalidation-transport';

/**
 * Cross-instance cache invalidation. Import once in the app module, next to `CacheModule.forRoot()`;
 * from then on every invalidation of the cache library reaches every instance. With `REDIS_URL`
 * the transport is Redis pub/sub; without it (embedded mode) the same API works in-process.
 */
@Global()
@Module({
  controllers: [CacheInvalidationController],
  providers: [
    {
      provide: InvalidationTransport,
      inject: [AppConfig, REDIS_CLIENT, REDIS_SUBSCRIBER],
      useFactory: (config: AppConfig, client: RedisConnection | null, subscriber: RedisConnection | null): InvalidationTransport =>
        client && subscriber
          ? new RedisInvalidationTransport(
              client,
              subscriber,
              config.cache.invalidationChannel,
              config.cache.l2TimeoutMs,
              config.cache.invalidationHeartbeatMs,
            )
          : new LocalInvalidationTransport(config.cache.invalidationChannel),
    },
    CacheInvalidationService,
    InvalidationMetrics,
  ],
  exports: [CacheInvalidationService],
})
export class CacheInvalidationModule {}
