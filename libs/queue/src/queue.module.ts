import { DynamicModule, Inject, Module, type BeforeApplicationShutdown, type OnApplicationShutdown } from '@nestjs/common';
import { AppConfig, runsJobs } from '@app/config';
import { REDIS_CLIENT, type RedisConnection } from '@app/redis';
import { BullJobQueue } from './bullmq-job-queue';
import { InProcessJobQueue } from './in-process-job-queue';
import type { JobQueue } from './job-queue';
import type { QueueDefinition } from './queue-definition';
import { QueueRegistry, QueueRegistryModule } from './queue-registry';

/** The share of `SHUTDOWN_TIMEOUT_MS` running jobs get to finish, all queues together; the rest is for HTTP and connections. */
export const WORKER_DRAIN_SHARE = 0.5;

/**
 * The queue of `definition` for this configuration: BullMQ with `REDIS_URL` (resolved once its
 * connection is ready, or after the connect timeout), in-process without. `redis` is the app's
 * command connection (`REDIS_CLIENT`), used for `once` ids.
 */
export async function createJobQueue<T>(
  definition: QueueDefinition<T>,
  config: AppConfig,
  redis: RedisConnection | null,
): Promise<JobQueue<T>> {
  const { prefix, concurrency, retryDelayMs, lockDurationMs, stalledIntervalMs, maxStalledCount } = config.queue;
  if (!config.redis || !redis) return new InProcessJobQueue(definition, { concurrency, retryDelayMs });
  const queue = new BullJobQueue(
    definition,
    {
      redis: config.redis,
      prefix,
      concurrency,
      retryDelayMs,
      addTimeoutMs: config.redisCommandTimeoutMs,
      runsJobs: runsJobs(config.role),
      lockDurationMs,
      stalledIntervalMs,
      maxStalledCount,
    },
    redis,
  );
  await queue.connected();
  return queue;
}

function lifecycleFor(definition: QueueDefinition) {
  /**
   * Shutdown order: running jobs finish (or, in Redis, go back to the queue) before the app's
   * connections close; the producer stays open until the very end, so a webhook accepted during
   * the HTTP drain is still queued.
   */
  class QueueLifecycle implements BeforeApplicationShutdown, OnApplicationShutdown {
    constructor(
      @Inject(definition.token) private readonly queue: JobQueue<unknown>,
      private readonly config: AppConfig,
      private readonly registry: QueueRegistry,
    ) {}

    async beforeApplicationShutdown(): Promise<void> {
      await this.queue.stopProcessing(this.registry.jobsMayRunFor(Math.floor(this.config.http.shutdownTimeoutMs * WORKER_DRAIN_SHARE)));
    }

    async onApplicationShutdown(): Promise<void> {
      await this.queue.close();
    }
  }
  return QueueLifecycle;
}

/**
 * Job queues. A feature declares one with `defineQueue`, imports `QueueModule.forFeature(definition)`,
 * injects it with `@InjectQueue(definition)` and starts its worker with `process(handler)`.
 * Connections, key prefixes, retention and shutdown are handled here, never in the feature.
 */
@Module({})
export class QueueModule {
  static forFeature(definition: QueueDefinition): DynamicModule {
    return {
      module: QueueModule,
      imports: [QueueRegistryModule],
      providers: [
        {
          provide: definition.token,
          inject: [AppConfig, REDIS_CLIENT, QueueRegistry],
          useFactory: async (config: AppConfig, redis: RedisConnection | null, registry: QueueRegistry) => {
            const queue = await createJobQueue(definition, config, redis);
            registry.add(queue);
            return queue;
          },
        },
        lifecycleFor(definition),
      ],
      exports: [definition.token],
    };
  }
}
