import { Inject } from '@nestjs/common';

/** The process's one ioredis command connection, or `null` in the embedded mode. */
export const REDIS_CLIENT = Symbol('REDIS_CLIENT');
/** A dedicated connection for SUBSCRIBE (a subscribed connection cannot run commands), or `null`. */
export const REDIS_SUBSCRIBER = Symbol('REDIS_SUBSCRIBER');

/** Injects the shared command client (`RedisConnection | null`). */
export const InjectRedis = (): ParameterDecorator => Inject(REDIS_CLIENT);
/** Injects the shared subscriber connection (`RedisConnection | null`). */
export const InjectRedisSubscriber = (): ParameterDecorator => Inject(REDIS_SUBSCRIBER);
