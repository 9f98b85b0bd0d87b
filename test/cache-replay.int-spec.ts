import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { loadConfig } from '@app/config';
import { CacheRegistry, defineCacheNamespace, type InvalidationNotice } from '@app/cache';
import { redisConnectionOptions } from '@app/redis';
import { TcpProxy } from './support/faults/tcp-proxy';
import { pollUntil } from './support/poll';
import { removeRedisKeys } from './support/redis-keys';
import { testRedisUrl } from './support/test-app';

const COOLDOWN_MS = 300;
const ITEMS = defineCacheNamespace({ name: 'items', ttl: '5m', description: 'test: replayed invalidations' });

/**
 * An explicit set that could not reach Redis has the replaced value removed from there once Redis
 * answers again. An invalidation that timed out while the connection stayed open (a Redis too slow to answer, not
 * one that went away: no `ready` event will come) is replayed by the tier's own retry, with no
 * further cache call, and announced again so other instances drop what they may have refilled.
 */
describe('invalidations and writes that could not reach Redis', () => {
  const prefix = `t-${randomUUID().slice(0, 8)}`;
  const config = loadConfig({
    NODE_ENV: 'test',
    CACHE_KEY_PREFIX: prefix,
    CACHE_L2_TIMEOUT_MS: '100',
    CACHE_BREAKER_COOLDOWN_MS: String(COOLDOWN_MS),
  });
  let proxy: TcpProxy;
  let client: Redis;
  let registry: CacheRegistry;
  const announced: InvalidationNotice[] = [];

  beforeAll(async () => {
    proxy = await TcpProxy.start(Number(new URL(testRedisUrl()).port));
    client = new Redis(proxy.url, redisConnectionOptions);
    // The app's connections log their errors (libs/redis); this bare client would print each one as unhandled.
    client.on('error', () => undefined);
    await new Promise((resolve) => client.once('ready', resolve));
    registry = new CacheRegistry(config, client);
    registry.onInvalidation((notice) => void announced.push(notice));
  });
  afterAll(async () => {
    registry.onApplicationShutdown();
    proxy.pass();
    client.disconnect();
    await proxy.stop();
    await removeRedisKeys(testRedisUrl(), prefix);
  });

  it('is replayed within a breaker cooldown of Redis answering, and announced again', async () => {
    const items = registry.namespace(ITEMS);
    await items.set('apple', { price: 3 });
    announced.splice(0);
    proxy.freeze();
    await items.delete('apple');
    expect(registry.overview().pendingInvalidations).toBe(1);
    expect(announced).toEqual([{ namespace: 'items', keys: [items.key('apple')] }]);

    proxy.pass();
    const passedAt = Date.now();
    const replayed = await pollUntil(
      async () => ({ pending: registry.overview().pendingInvalidations, announcements: announced.length }),
      ({ pending, announcements }) => pending === 0 && announcements === 2,
      5_000,
      20,
    );
    expect(replayed.value).toEqual({ pending: 0, announcements: 2 });
    expect(Date.now() - passedAt).toBeLessThanOrEqual(COOLDOWN_MS + 1_000);
    expect(announced).toEqual([
      { namespace: 'items', keys: [items.key('apple')] },
      { namespace: 'items', keys: [items.key('apple')] },
    ]);
    expect(await client.exists(items.key('apple'))).toBe(0);
  });

  it('removes from Redis, once it answers again, the value an explicit set could not replace there', async () => {
    const items = registry.namespace(ITEMS);
    await items.set('pear', 'old');
    proxy.refuse();
    await items.set('pear', 'new');
    expect(await items.get('pear')).toBe('new');
    expect(registry.overview().pendingInvalidations).toBe(1);

    proxy.pass();
    await pollUntil(async () => registry.overview().pendingInvalidations, (pending) => pending === 0, 5_000, 20);
    // Another instance reading Redis now loads the current value instead of getting the replaced one.
    expect(await client.get(items.key('pear'))).toBeNull();
  });
});
