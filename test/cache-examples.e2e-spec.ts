import { randomUUID } from 'node:crypto';
import { CACHE_MANAGER } from '@nestjs/cache-manager';
import type { Cache } from 'cache-manager';
import request from 'supertest';
import { CacheRegistry } from '@app/cache';
import { ProductCatalog } from '../libs/cache/examples/cached-method';
import { ExchangeRatesService } from '../libs/cache/examples/cached-value';
import { CacheExamplesModule } from '../libs/cache/examples/examples.module';
import { pollUntil } from './support/poll';
import { removeRedisKeys } from './support/redis-keys';
import { startTestApp, testRedisUrl, type TestApp } from './support/test-app';

/** Every example of libs/cache/README.md runs here as the guide says it behaves. */
describe('libs/cache/README.md examples', () => {
  let app: TestApp;
  const prefix = `t-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    app = await startTestApp({ env: { REDIS_URL: testRedisUrl(), CACHE_KEY_PREFIX: prefix }, extraModules: [CacheExamplesModule] });
  });

  afterAll(async () => {
    await app.close();
    await removeRedisKeys(testRedisUrl(), prefix);
  });

  it('caching a route: public list served as an early hit, per-product answers evicted by a price change', async () => {
    const catalog = app.app.get(ProductCatalog);
    expect((await request(app.baseUrl).get('/example/products')).headers['x-cache']).toBe('MISS');
    expect((await request(app.baseUrl).get('/example/products')).headers['x-cache']).toBe('HIT');
    const first = await request(app.baseUrl).get('/example/products/apple').expect(200);
    expect(first.body).toEqual({ id: 'apple', price: 3 });
    expect((await request(app.baseUrl).get('/example/products/apple')).headers['x-cache']).toBe('HIT');
    await catalog.setPrice('apple', 5);
    const changed = await request(app.baseUrl).get('/example/products/apple').expect(200);
    expect(changed.headers['x-cache']).toBe('MISS');
    expect(changed.body).toEqual({ id: 'apple', price: 5 });
    expect((await request(app.baseUrl).get('/example/products')).headers['x-cache']).toBe('MISS');
  });

  it('caching a method: concurrent callers share one read, and the result is kept', async () => {
    const catalog = app.app.get(ProductCatalog);
    const before = catalog.reads;
    expect(await Promise.all([catalog.price('pear'), catalog.price('pear'), catalog.price('pear')])).toEqual([4, 4, 4]);
    expect(await catalog.price('pear')).toBe(4);
    expect(catalog.reads - before).toBe(1);
  });

  it('caching a value: wrap reads through once, types survive L2, ttl 0 keeps it until deleted', async () => {
    const rates = app.app.get(ExchangeRatesService);
    const first = await rates.current();
    await rates.current();
    expect(rates.fetches).toBe(1);
    app.app.get(CacheRegistry).dropAllLocal();
    const fromRedis = await rates.current();
    expect(fromRedis.fetchedAt).toBeInstanceOf(Date);
    expect(fromRedis.rates).toBeInstanceOf(Map);
    expect(fromRedis).toEqual(first);
    await rates.pin(first);
    app.app.get(CacheRegistry).dropAllLocal();
    expect(await rates.current()).toEqual(first);
    expect(rates.fetches).toBe(1);
    await rates.forget();
    await rates.current();
    expect(rates.fetches).toBe(2);
  });

  it('the stock API: @CacheKey/@CacheTTL on the stock interceptor and CACHE_MANAGER get/set', async () => {
    const greeting = await request(app.baseUrl).get('/example/stock/greeting').expect(200);
    // The stock interceptor stores after it answers: wait for the entry before asking again.
    const cacheManager = app.app.get<Cache>(CACHE_MANAGER);
    expect((await pollUntil(() => cacheManager.get('example-greeting'), (value) => value !== undefined, 2_000, 10)).value).toEqual(greeting.body);
    expect((await request(app.baseUrl).get('/example/stock/greeting')).body).toEqual(greeting.body);
    expect((await request(app.baseUrl).get('/example/stock/visits')).body).toEqual({ visits: 1 });
    expect((await request(app.baseUrl).get('/example/stock/visits')).body).toEqual({ visits: 2 });
  });
});
