export { RedisModule } from './redis.module';
export { REDIS_CLIENT, REDIS_SUBSCRIBER, InjectRedis, InjectRedisSubscriber } from './redis.tokens';
export { describeRedisUrl, redisConnectionOptions } from './redis-connection.factory';
export { claimWithToken, releaseWithToken } from './token-keys';
