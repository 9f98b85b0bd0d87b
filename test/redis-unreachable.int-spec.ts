import Redis from 'ioredis';
import { testRedisUrl } from './support/test-app';
import { CLOSED_PORT } from './support/redis-server';
import { isRedisUnreachable } from '@app/redis';

describe('isRedisUnreachable', () => {
  it('is true for what ioredis fails a command with when Redis does not answer it', async () => {
    const offline = new Redis({ port: CLOSED_PORT, enableOfflineQueue: false, lazyConnect: true, retryStrategy: () => null });
    offline.on('error', () => undefined);
    const refused = await offline.get('k').catch((error: unknown) => error);
    offline.disconnect();
    expect(isRedisUnreachable(refused)).toBe(true);

    const closed = new Redis(testRedisUrl());
    await closed.ping();
    await closed.quit();
    expect(isRedisUnreachable(await closed.get('k').catch((error: unknown) => error))).toBe(true);

    expect(isRedisUnreachable(new Error('Command timed out'))).toBe(true);
    expect(isRedisUnreachable(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toBe(true);
  });

  it('is false for an answer that was an error, and for anything else thrown', async () => {
    const client = new Redis(testRedisUrl());
    const key = `unreachable-spec-${process.pid}`;
    await client.set(key, 'a string');
    const wrongType = await client.lpush(key, 'x').catch((error: unknown) => error);
    await client.del(key);
    await client.quit();
    expect(wrongType).toBeInstanceOf(Error);
    expect(isRedisUnreachable(wrongType)).toBe(false);
    expect(isRedisUnreachable(new TypeError("Cannot read properties of undefined (reading 'id')"))).toBe(false);
    expect(isRedisUnreachable('Command timed out')).toBe(false);
    expect(isRedisUnreachable(undefined)).toBe(false);
  });
});
