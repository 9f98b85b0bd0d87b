import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { createCache, type Cache } from 'cache-manager';
import { loadConfig } from '@app/config';
import { CacheRegistry, defineCacheNamespace } from '@app/cache';
import { DEFAULT_NAMESPACE } from '@app/cache/namespace';
import { createNamespaceKeyv } from '@app/cache/cache-manager.adapter';
import { redisConnectionOptions } from '@app/redis';
import { removeRedisKeys } from './support/redis-keys';
import { testRedisUrl } from './support/test-app';

const TYPED = defineCacheNamespace({ name: 'typed', ttl: '1m', description: 'test: typed values' });
const DEFAULT_TTL_MS = 60_000;

/** A value of every type a cache user may store, nested. */
function typedValue() {
  return {
    at: new Date(1_700_000_000_123),
    byName: new Map<string, unknown>([['a', { when: new Date(0) }], ['b', new Set([1, 2])]]),
    ids: new Set(['x', 'y']),
    big: 2n ** 70n,
    bytes: Buffer.from([0, 1, 2, 250]),
    nested: { list: [1, 'two', null, { deep: new Date(86_400_000) }], flag: false, zero: 0 },
  };
}

function expectTyped(actual: unknown): void {
  const value = actual as ReturnType<typeof typedValue>;
  expect(value).toEqual(typedValue());
  expect(value.at).toBeInstanceOf(Date);
  expect(value.byName).toBeInstanceOf(Map);
  expect((value.byName.get('a') as { when: unknown }).when).toBeInstanceOf(Date);
  expect(value.byName.get('b')).toBeInstanceOf(Set);
  expect(value.ids).toBeInstanceOf(Set);
  expect(typeof value.big).toBe('bigint');
  expect(Buffer.isBuffer(value.bytes)).toBe(true);
  expect(value.nested.list[3]).toEqual({ deep: new Date(86_400_000) });
}

describe('the store contract of CACHE_MANAGER and NamespaceCache over a real Redis', () => {
  const prefix = `t-${randomUUID().slice(0, 8)}`;
  const config = loadConfig({ NODE_ENV: 'test', CACHE_KEY_PREFIX: prefix, CACHE_DEFAULT_TTL_MS: String(DEFAULT_TTL_MS) });
  const redis = new Redis(testRedisUrl(), redisConnectionOptions);
  /** Two instances of the app sharing Redis: `other` reads what `registry` wrote from L2. */
  const registry = new CacheRegistry(config, redis);
  const other = new CacheRegistry(config, redis);
  const cacheManager: Cache = createCache({
    stores: [createNamespaceKeyv(registry.namespace(DEFAULT_NAMESPACE), DEFAULT_TTL_MS)],
    ttl: DEFAULT_TTL_MS,
  });
  const otherManager: Cache = createCache({
    stores: [createNamespaceKeyv(other.namespace(DEFAULT_NAMESPACE), DEFAULT_TTL_MS)],
    ttl: DEFAULT_TTL_MS,
  });
  const redisKey = (key: string) => registry.keys.entry('default', key);

  beforeAll(async () => {
    if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
  });

  afterAll(async () => {
    await removeRedisKeys(testRedisUrl(), prefix);
    await redis.quit();
  });

  it('set(key, value, 0) stores without expiry, as Keyv says: Redis holds no TTL and ttl() is undefined', async () => {
    await cacheManager.set('forever', 'v', 0);
    expect(await redis.pttl(redisKey('forever'))).toBe(-1);
    expect(await cacheManager.ttl('forever')).toBeUndefined();
    expect(await cacheManager.get('forever')).toBe('v');
    expect(await otherManager.get('forever')).toBe('v');
  });

  it('set(key, value) without a TTL uses the module default, and ttl() agrees with what Redis holds', async () => {
    const setStarted = Date.now();
    await cacheManager.set('defaulted', 'v');
    const before = Date.now();
    const expiresAt = await cacheManager.ttl('defaulted');
    const remainingInRedis = await redis.pttl(redisKey('defaulted'));
    const after = Date.now();
    expect(expiresAt).toBeDefined();
    // Redis's expiry is when PTTL was read (between before and after) plus what it said. ttl() gives the entry's own
    // expiry, reckoned when the set began, before Redis ran the write, which starts Redis's clock: it is earlier by at
    // most the set's own time, and past it by at most the PTTL reply's. Bounds, not a fixed slack: a loaded CI machine
    // took 61 ms between Redis answering and this process reading the clock. 2 ms for whole milliseconds.
    expect(expiresAt).toBeGreaterThanOrEqual(before + remainingInRedis - (before - setStarted) - 2);
    expect(expiresAt).toBeLessThanOrEqual(after + remainingInRedis + (after - before) + 2);
    expect(remainingInRedis).toBeGreaterThan(DEFAULT_TTL_MS - 1_000);
  });

  it('set(key, value, ms) expires with that TTL in both tiers, and ttl() agrees with Redis', async () => {
    await cacheManager.set('short', 'v', 2_000);
    const expiresAt = await cacheManager.ttl('short');
    const remainingInRedis = await redis.pttl(redisKey('short'));
    expect(remainingInRedis).toBeGreaterThan(1_500);
    expect(remainingInRedis).toBeLessThanOrEqual(2_000);
    expect(Math.abs(expiresAt! - Date.now() - remainingInRedis)).toBeLessThan(50);
  });

  it('round-trips Date, Map, Set, BigInt, Buffer and nested values through CACHE_MANAGER in L1 and in L2', async () => {
    await cacheManager.set('typed', typedValue());
    expectTyped(await cacheManager.get('typed'));
    expectTyped(await otherManager.get('typed'));
    const [viaMget] = await otherManager.mget(['typed']);
    expectTyped(viaMget);
  });

  it('round-trips the same types through a namespace in L1 and in L2', async () => {
    await registry.namespace(TYPED).set('typed', typedValue());
    expectTyped(await registry.namespace(TYPED).get('typed'));
    expectTyped(await other.namespace(TYPED).get('typed'));
    expect(other.namespace(TYPED).snapshot()).toMatchObject({ l2Hits: 1 });
  });

  it('a namespace set with ttl 0 keeps the entry until it is invalidated', async () => {
    const cache = registry.namespace(TYPED);
    await cache.set('kept', 1, { ttl: 0 });
    expect(await redis.pttl(cache.key('kept'))).toBe(-1);
    expect(await cache.getEntry('kept')).toEqual({ value: 1, expiresAt: undefined });
    await cache.delete('kept');
    expect(await other.namespace(TYPED).get('kept')).toBeUndefined();
  });

  it('keeps credential query parameters out of keys: digested, distinct per credential', async () => {
    await cacheManager.set('/a2/controller?admin_secret=hunter2&token=abc&page=1', 'one');
    await cacheManager.set('/a2/controller?admin_secret=other&token=abc&page=1', 'two');
    const keys = await redis.keys(`${prefix}:*`);
    expect(keys.join('\n')).not.toMatch(/hunter2|=abc|=other/);
    expect(await cacheManager.get('/a2/controller?admin_secret=hunter2&token=abc&page=1')).toBe('one');
    expect(await cacheManager.get('/a2/controller?admin_secret=other&token=abc&page=1')).toBe('two');
    await cacheManager.del('/a2/controller?admin_secret=hunter2&token=abc&page=1');
    expect(await otherManager.get('/a2/controller?admin_secret=hunter2&token=abc&page=1')).toBeUndefined();
  });
});
