import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import request from 'supertest';
import { CACHE_MANAGER } from '@nestjs/cache-manager';
import type { Cache } from 'cache-manager';
import { CacheRegistry } from '@app/cache';
import { DEFAULT_NAMESPACE } from '@app/cache/namespace';
import { pollUntil } from './support/poll';
import { removeRedisKeys } from './support/redis-keys';
import {
  CacheManagerController,
  CustomTtlController,
  CustomTtlModule,
  DefaultTtlController,
  GlobalStockCacheModule,
  StockUsageModule,
} from './support/stock-usage-fixtures';
import { startTestApp, testRedisUrl, type TestApp } from './support/test-app';

const ADMIN = { 'X-Admin-Secret': 'test-webhook-secret' };
const DEFAULT_TTL_MS = 700;

describe('the stock @nestjs/cache-manager usage on this app’s cache', () => {
  let app: TestApp;
  let redis: Redis;
  const prefix = `t-${randomUUID().slice(0, 8)}`;
  const keysInRedis = async () => (await redis.keys(`${prefix}:*`)).join('\n');
  const stored = async (key: string) =>
    expect((await pollUntil(() => redis.pttl(`${prefix}:1:{default}:${key}`), (ms) => ms > 0, 2_000, 10)).value).toBeGreaterThan(0);

  beforeAll(async () => {
    app = await startTestApp({
      env: { REDIS_URL: testRedisUrl(), CACHE_KEY_PREFIX: prefix, CACHE_DEFAULT_TTL_MS: String(DEFAULT_TTL_MS) },
      extraModules: [StockUsageModule],
    });
    redis = new Redis(testRedisUrl());
  });

  afterAll(async () => {
    await app.close();
    await removeRedisKeys(testRedisUrl(), prefix);
    await redis.quit();
  });

  it('app.get(CACHE_MANAGER) and every injected CACHE_MANAGER are one cache', () => {
    const root = app.app.get(CACHE_MANAGER);
    expect(app.app.get(DefaultTtlController).cacheManager).toBe(root);
    expect(app.app.get(CacheManagerController).cacheManager).toBe(root);
  });

  it('custom TTL: the method @CacheTTL and the controller @CacheTTL hold, through Redis, with stats', async () => {
    const controller = app.app.get(CustomTtlController);
    const before = app.app.get(CacheRegistry).namespace(DEFAULT_NAMESPACE).snapshot();
    const requestedAt = Date.now();
    const first = await request(app.baseUrl).get('/upstream/custom-ttl').expect(200);
    // The stock interceptor stores after it answers: wait for the write to land.
    await stored('/upstream/custom-ttl');
    const cached = await request(app.baseUrl).get('/upstream/custom-ttl').expect(200);
    expect(cached.text).toBe(first.text);
    expect(cached.headers['x-cache']).toBe('HIT');
    expect(await redis.pttl(`${prefix}:1:{default}:/upstream/custom-ttl`)).toBeLessThanOrEqual(500);
    const expired = await pollUntil(() => request(app.baseUrl).get('/upstream/custom-ttl').then((r) => r.text), (text) => text !== first.text, 3_000, 50);
    expect(Number(expired.value)).toBe(controller.counter - 1);
    // Stored after `requestedAt` with a 500 ms TTL, so it cannot have expired sooner.
    expect(Date.now() - requestedAt).toBeGreaterThanOrEqual(500);
    expect(app.app.get(CacheRegistry).namespace(DEFAULT_NAMESPACE).snapshot().l1Hits).toBeGreaterThan(before.l1Hits);

    const controllerRequestedAt = Date.now();
    const controllerTtl = await request(app.baseUrl).get('/upstream/custom-ttl/controller').expect(200);
    await stored('/upstream/custom-ttl/controller');
    expect((await request(app.baseUrl).get('/upstream/custom-ttl/controller')).text).toBe(controllerTtl.text);
    // Stored after the request started, with the controller's 600 ms rather than a method's 500 ms.
    const expiresAt = await app.app.get<Cache>(CACHE_MANAGER).ttl('/upstream/custom-ttl/controller');
    expect(expiresAt! - controllerRequestedAt).toBeGreaterThanOrEqual(600);
    expect(expiresAt! - Date.now()).toBeLessThanOrEqual(600);
  });

  it('default TTL: CACHE_MANAGER.set without a TTL keeps the value for the configured default', async () => {
    await request(app.baseUrl).get('/upstream/manager/del/key').expect(200);
    await request(app.baseUrl).get('/upstream/default-ttl').expect(200, 'Not found');
    await request(app.baseUrl).get('/upstream/default-ttl').expect(200, 'value');
    const remaining = await redis.pttl(`${prefix}:1:{default}:key`);
    expect(remaining).toBeGreaterThan(0);
    expect(remaining).toBeLessThanOrEqual(DEFAULT_TTL_MS);
    const expired = await pollUntil(() => request(app.baseUrl).get('/upstream/default-ttl').then((r) => r.text), (text) => text === 'Not found', 3_000, 50);
    expect(expired.value).toBe('Not found');
  });

  it('CACHE_MANAGER get/set/del/mget/wrap work through both tiers, and the inventory and invalidation see them', async () => {
    await request(app.baseUrl).get('/upstream/manager/set/a/1?ttl=60000').expect(200);
    await request(app.baseUrl).get('/upstream/manager/set/b/2?ttl=0').expect(200);
    expect((await request(app.baseUrl).get('/upstream/manager/get/a')).body).toEqual({ value: '1' });
    expect((await request(app.baseUrl).get('/upstream/manager/mget?keys=a,b,c')).body).toEqual({ values: ['1', '2', null] });
    expect(await redis.pttl(`${prefix}:1:{default}:b`)).toBe(-1);
    expect((await request(app.baseUrl).get('/upstream/manager/wrap/w')).body).toEqual({ value: 'loaded-1' });
    expect((await request(app.baseUrl).get('/upstream/manager/wrap/w')).body).toEqual({ value: 'loaded-1' });
    await request(app.baseUrl).get('/upstream/manager/del/a').expect(200);
    expect((await request(app.baseUrl).get('/upstream/manager/get/a')).body).toEqual({ value: null });

    const inventory = await request(app.baseUrl).get('/admin/cache/inventory').set(ADMIN).expect(200);
    expect(inventory.body.namespaces.map((namespace: { namespace: string }) => namespace.namespace)).toContain('default');
    await request(app.baseUrl).post('/admin/cache/invalidate').set(ADMIN).send({ namespaces: ['default'] }).expect(200);
    expect((await request(app.baseUrl).get('/upstream/manager/get/b')).body).toEqual({ value: null });
    expect((await request(app.baseUrl).get('/upstream/manager/wrap/w')).body).toEqual({ value: 'loaded-2' });
  });

  it('the stock CacheInterceptor never puts a credential in a key nor serves one caller’s entry to another', async () => {
    const get = (query: string, headers: Record<string, string> = {}) =>
      request(app.baseUrl).get(`/upstream/a2/controller${query}`).set(headers).expect(200).then((r) => r.body.calls as number);
    const alice = await get('?admin_secret=alice-secret&token=alice-token');
    expect(await get('?admin_secret=alice-secret&token=alice-token')).toBe(alice);
    const bob = await get('?admin_secret=bob-secret&token=alice-token');
    expect(bob).not.toBe(alice);
    const carol = await get('', { Authorization: 'Bearer carol' });
    const dave = await get('', { Authorization: 'Bearer dave' });
    expect(dave).not.toBe(carol);
    expect(await get('', { Authorization: 'Bearer carol' })).toBe(carol);
    const anonymous = await get('');
    expect(anonymous).not.toBe(carol);
    expect(await get('')).toBe(anonymous);
    expect(await keysInRedis()).toContain('a2');
    expect(await keysInRedis()).not.toMatch(/alice|bob|carol|dave/);
  });
});

describe('a private stock cache module', () => {
  it('refuses to start when a feature module imports CacheModule.register(), naming it and the fix', async () => {
    await expect(startTestApp({ extraModules: [CustomTtlModule] })).rejects.toThrow(
      /^CustomTtlModule imports CacheModule\.register\(\)\/registerAsync\(\) from @nestjs\/cache-manager, .*Remove it from the imports: .*CacheModule\.forFeature\(namespace\) from @app\/cache/,
    );
  });

  it('refuses a global registerAsync() too, which would make app.get(CACHE_MANAGER) a second cache', async () => {
    await expect(startTestApp({ extraModules: [GlobalStockCacheModule] })).rejects.toThrow(
      /^GlobalStockCacheModule imports CacheModule\.register\(\)\/registerAsync\(\)/,
    );
  });
});
