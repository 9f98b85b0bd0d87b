import { Global, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '@app/config';
import {
  createRedisConnection,
  redisConnectionOptions,
  settleFirstConnect,
  type RedisConnection,
} from './redis-connection.factory';
import { REDIS_CLIENT, REDIS_SUBSCRIBER } from './redis.tokens';

/** How long `QUIT` may take on shutdown before the socket is closed hard, in milliseconds. */
const QUIT_TIMEOUT_MS = 1_000;

async function closeConnection(connection: RedisConnection | null): Promise<void> {
  if (!connection || connection.status === 'end') return;
  if (connection.status !== 'ready') {
    connection.disconnect();
    return;
  }
  const ended = new Promise((resolve) => connection.once('end', resolve));
  const timer = setTimeout(() => connection.disconnect(), QUIT_TIMEOUT_MS);
  try {
    await connection.quit();
  } catch {
    connection.disconnect();
  }
  await ended;
  clearTimeout(timer);
}

/**
 * `bounded`: every command gets `REDIS_COMMAND_TIMEOUT_MS`, so a hung Redis (frozen, or a network
 * that stops delivering) fails a command instead of holding its request forever. Not for the
 * subscriber, whose heartbeat judges the connection itself.
 */
function connectionFactory(role: string, bounded: boolean) {
  return async (config: AppConfig): Promise<RedisConnection | null> => {
    if (!config.redis) return null;
    const connection = createRedisConnection(
      config.redis,
      role,
      new Logger('Redis'),
      bounded ? { commandTimeout: config.redisCommandTimeoutMs } : {},
    );
    await settleFirstConnect(connection, redisConnectionOptions.connectTimeout ?? 2_000);
    return connection;
  };
}

/**
 * The process's Redis connections: one command client shared by every feature and one subscriber.
 * Both exist only when a Redis is configured (`REDIS_URL`, `REDIS_SENTINELS` or
 * `REDIS_CLUSTER_NODES`); consumers receive `null` in the embedded mode and pick their in-process
 * implementation. On a Cluster both are ioredis `Cluster` clients.
 */
@Global()
@Module({
  providers: [
    { provide: REDIS_CLIENT, inject: [AppConfig], useFactory: connectionFactory('client', true) },
    { provide: REDIS_SUBSCRIBER, inject: [AppConfig], useFactory: connectionFactory('subscriber', false) },
  ],
  exports: [REDIS_CLIENT, REDIS_SUBSCRIBER],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(
    @Inject(REDIS_CLIENT) private readonly client: RedisConnection | null,
    @Inject(REDIS_SUBSCRIBER) private readonly subscriber: RedisConnection | null,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([closeConnection(this.client), closeConnection(this.subscriber)]);
  }
}
