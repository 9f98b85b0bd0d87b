import type { Provider } from '@nestjs/common';
import { REDIS_CLIENT, type RedisConnection } from '@app/redis';
import { InMemoryPendingRequestStore } from './in-memory-pending-request-store';
import { PendingRequestStore } from './pending-request-store';
import { RedisPendingRequestStore } from './redis-pending-request-store';

/** In Redis when `REDIS_URL` is set (every instance sees every pending request), in this process otherwise. */
export const pendingRequestStoreProvider: Provider = {
  provide: PendingRequestStore,
  inject: [REDIS_CLIENT],
  useFactory: (redis: RedisConnection | null): PendingRequestStore =>
    redis ? new RedisPendingRequestStore(redis) : new InMemoryPendingRequestStore(),
};
