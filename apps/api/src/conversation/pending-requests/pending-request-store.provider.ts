import type { Provider } from '@nestjs/common';
import { AppConfig } from '@app/config';
import { REDIS_CLIENT, type RedisConnection } from '@app/redis';
import { InMemoryPendingRequestStore } from './in-memory-pending-request-store';
import { PendingRequestStore } from './pending-request-store';
import { RedisPendingRequestStore } from './redis-pending-request-store';

/** In Redis when `REDIS_URL` is set (every instance sees every pending request), in this process otherwise. */
export const pendingRequestStoreProvider: Provider = {
  provide: PendingRequestStore,
  inject: [REDIS_CLIENT, AppConfig],
  useFactory: (redis: RedisConnection | null, config: AppConfig): PendingRequestStore =>
    redis ? new RedisPendingRequestStore(redis, `${config.cache.keyPrefix}:pending-deadlines`) : new InMemoryPendingRequestStore(),
};
