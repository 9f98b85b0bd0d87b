import { Module } from '@nestjs/common';
import { QueueRegistryModule } from '@app/queue';
import { OperationalMetrics } from './operational-metrics';

/** Request, queue and invalidation-lag series on `/metrics`, next to the cache's. */
@Module({ imports: [QueueRegistryModule], providers: [OperationalMetrics] })
export class OperationalMetricsModule {}
