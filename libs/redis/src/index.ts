export { RedisModule } from './redis.module';
export { REDIS_CLIENT, REDIS_SUBSCRIBER, InjectRedis, InjectRedisSubscriber } from './redis.tokens';
export {
  clusterKeySlot,
  clusterSubscription,
  describeRedis,
  describeRedisUrl,
  nodeFor,
  openRedis,
  redisConnectionOptions,
  redisOptionsFor,
  type RedisConnection,
} from './redis-connection.factory';
export { claimWithToken, extendWithToken, releaseWithToken } from './token-keys';
export { isRedisUnreachable } from './unreachable';
