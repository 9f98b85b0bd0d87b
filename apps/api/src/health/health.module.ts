import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { CacheModule } from '@app/cache';
import { QueueRegistryModule } from '@app/queue';
import { HealthController } from './health.controller';
import { CacheIndicator, HEALTH_PROBE_CACHE } from './indicators/cache.indicator';
import { DatabaseIndicator } from './indicators/database.indicator';
import { QueueWorkersIndicator } from './indicators/queue-workers.indicator';
import { QueuesIndicator } from './indicators/queues.indicator';
import { RedisIndicator } from './indicators/redis.indicator';

/**
 * `GET /`, `GET /health`, `GET /health/live`, `GET /health/ready`. Terminus' own logging is off:
 * the indicators log a dependency going down and coming back once each instead of every probe.
 */
@Module({
  imports: [TerminusModule.forRoot({ logger: false }), CacheModule.forFeature(HEALTH_PROBE_CACHE), QueueRegistryModule],
  controllers: [HealthController],
  providers: [RedisIndicator, CacheIndicator, DatabaseIndicator, QueuesIndicator, QueueWorkersIndicator],
})
export class HealthModule {}
