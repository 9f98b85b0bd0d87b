import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CACHE_MANAGER } from '@nestjs/cache-manager';
import type { Cache } from 'cache-manager';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { loadConfig } from '@app/config';
import { AppModule } from '../apps/api/src/app.module';
import { CacheRegistry } from '@app/cache';
import { CacheMaintenance } from '@app/cache/cache-maintenance';
import { HttpCacheInterceptor } from '@app/cache/http/http-cache.interceptor';
import { HTTP_NAMESPACE } from '@app/cache/namespace';
import { CacheFixturesModule, CallCounter, FixtureCatalog, IneligibleEarlyHitsModule } from './support/cache-fixtures';
import { pollUntil } from './support/poll';
import { sendRaw } from './support/raw-http';
import { freePort } from './support/redis-server';
import { startTestApp, testRedisUrl, type TestApp } from './support/test-app';

const ADMIN = { 'X-Admin-Secret': 'test-webhook-secret' };

/** The `onSend` hooks Fastify runs for one route, read from the tree `printRoutes` draws (`[]` for none). */
function onSendHooksOf(app: TestApp, method: string, path: string): string[] {
  const fastify: FastifyInstance = app.app.getHttpAdapter().getInstance();
  const routes = new Map<string, string[]>();
  const segments: string[] = [];
  let hooks: string[] = [];
  for (const line of fastify.printRoutes({ includeHooks: true, commonPrefix: false }).split('\n')) {
    const start = line.search(/[^│├└─\s]/);
    if (start === -1) continue;
    const text = line.slice(start);
    const hook = /^• \((\w+)\) (\[.*\])$/.exec(text);
    if (hook) {
      if (hook[1] === 'onSend') hooks.push(...(JSON.parse(hook[2]) as string[]));
      continue;
    }
    // Each level of the tree is indented by four characters and adds its segment to the path.
    const [, segment, methods] = /^(.*?)(?: \(([A-Z, ]+)\))?$/.exec(text) ?? [];
    segments.length = start / 4;
    segments.push(segment);
    hooks = [];
    for (const each of methods?.split(', ') ?? []) routes.set(`${each} ${segments.join('')}`, hooks);
  }
  const found = routes.get(`${method} ${path}`);
  if (!found) throw new Error(`no route ${method} ${path} in ${[...routes.keys()].join(', ')}`);
  return found;
}

function startCachedApp(env: Record<string, string> = {}): Promise<TestApp> {
  return startTestApp({
    env: { REDIS_URL: testRedisUrl(), CACHE_KEY_PREFIX: `t-${randomUUID().slice(0, 8)}`, ...env },
    extraModules: [CacheFixturesModule],
  });
}

describe('route caching (L1 + Redis L2)', () => {
  let app: TestApp;
  let counter: CallCounter;

  beforeAll(async () => {
    app = await startCachedApp();
    counter = app.app.get(CallCounter);
  });
  afterAll(() => app.close());

  it('answers MISS then HIT with the same body, ETag and X-Cache', async () => {
    const first = await request(app.baseUrl).get('/fixtures/public?page=2').expect(200);
    const second = await request(app.baseUrl).get('/fixtures/public?page=2').expect(200);
    expect(first.headers['x-cache']).toBe('MISS');
    expect(second.headers['x-cache']).toBe('HIT');
    expect(second.body).toEqual(first.body);
    expect(second.headers.etag).toBe(first.headers.etag);
    expect(first.headers.etag).toMatch(/^W\/"[\w-]{27}"$/);
    expect(second.headers['cache-control']).toBe('public, no-cache');
    expect(counter.of('public')).toBe(1);
  });

  it('runs the 304 hook on cached routes only, each kind of which answers 304', async () => {
    // The app's own onSend hooks (the test's contract recorder) run on every route; the 304 hook on cached routes only.
    const everyRoute = onSendHooksOf(app, 'GET', '/health/live');
    expect(everyRoute).not.toContain('answerNotModified()');
    for (const path of ['/fixtures/public', '/fixtures/bare-interceptor', '/fixtures/early', '/fixtures/route-config/:id', '/fixtures-class/:id']) {
      expect(onSendHooksOf(app, 'GET', path)).toEqual([...everyRoute, 'answerNotModified()']);
    }
    for (const path of ['/fixtures/price/:name', '/fixtures/stock-key']) {
      expect(onSendHooksOf(app, 'GET', path)).toEqual(everyRoute);
    }
    for (const path of ['/fixtures/bare-interceptor', '/fixtures/route-config/7', '/fixtures-class/7']) {
      const first = await request(app.baseUrl).get(path).expect(200);
      const revalidated = await request(app.baseUrl).get(path).set('If-None-Match', first.headers.etag).expect(304);
      expect(revalidated.text).toBe('');
      expect(revalidated.headers['x-request-id']).toBeDefined();
    }
  });

  it('normalises the query string: order of parameters does not split entries', async () => {
    await request(app.baseUrl).get('/fixtures/public?a=1&b=2').expect(200);
    const swapped = await request(app.baseUrl).get('/fixtures/public?b=2&a=1').expect(200);
    expect(swapped.headers['x-cache']).toBe('HIT');
  });

  it.each([
    ['a malformed escape, then the character it is not', 'page=%FF', '%FF', 'page=%EF%BF%BD', '\ufffd'],
    ["a name's values, then the same values in another order", 'page=x&page=y', ['x', 'y'], 'page=y&page=x', ['y', 'x']],
  ])('keeps apart queries the route reads apart: %s (interceptor and early hits)', async (_what, first, firstPage, second, secondPage) => {
    for (const path of ['/fixtures/public', '/fixtures/early']) {
      const stored = await request(app.baseUrl).get(`${path}?${first}`).expect(200);
      const other = await request(app.baseUrl).get(`${path}?${second}`).expect(200);
      expect([stored.body.page, stored.headers['x-cache']]).toEqual([firstPage, 'MISS']);
      expect([other.body.page, other.headers['x-cache']]).toEqual([secondPage, 'MISS']);
      const again = await request(app.baseUrl).get(`${path}?${second}`).expect(200);
      expect([again.body.page, again.headers['x-cache']]).toEqual([secondPage, 'HIT']);
    }
  });

  it.each(['csv', 'csv-early'])('answers a hit of /answer-shape/%s with the status, type and headers the route sent', async (route) => {
    const path = `/answer-shape/${route}`;
    const shape = (response: request.Response) => ({
      status: response.status,
      type: response.headers['content-type'],
      custom: response.headers['x-custom'],
      declared: response.headers['x-declared'],
      body: response.text,
    });
    const miss = await request(app.baseUrl).get(path);
    expect(shape(miss)).toEqual({ status: 203, type: 'text/csv; charset=utf-8', custom: 'set by the handler', declared: 'by @Header', body: 'a,b\n1,2\n' });
    // From L1, then from Redis alone (L1 emptied): the entry decoded from L2 answers the same.
    for (const from of ['L1', 'L2']) {
      if (from === 'L2') app.app.get(CacheRegistry).namespace(HTTP_NAMESPACE).dropLocal({ all: true });
      const hit = await request(app.baseUrl).get(path);
      expect([from, hit.headers['x-cache'], shape(hit)]).toEqual([from, 'HIT', shape(miss)]);
    }
  });

  it('keeps the type a handler gave a JSON answer, and its status, on a hit', async () => {
    const miss = await request(app.baseUrl).get('/answer-shape/problem').expect(202);
    const hit = await request(app.baseUrl).get('/answer-shape/problem').expect(202);
    expect([miss.headers['content-type'], hit.headers['content-type'], hit.headers['x-cache']]).toEqual([
      'application/problem+json; charset=utf-8',
      'application/problem+json; charset=utf-8',
      'HIT',
    ]);
    expect(hit.text).toBe(miss.text);
  });

  it.each(['bytes', 'bytes-early'])('answers /answer-shape/%s with the bytes the handler returned, as the route does uncached', async (route) => {
    const bytes = (response: request.Response) => [response.headers['content-type'], [...(response.body as Buffer)]];
    const get = () =>
      request(app.baseUrl)
        .get(`/answer-shape/${route}`)
        .buffer(true)
        .parse((response, done) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => done(null, Buffer.concat(chunks)));
        })
        .expect(200);
    const miss = await get();
    expect(bytes(miss)).toEqual(['application/octet-stream', [0, 1, 2, 255]]);
    for (const from of ['L1', 'L2']) {
      if (from === 'L2') app.app.get(CacheRegistry).namespace(HTTP_NAMESPACE).dropLocal({ all: true });
      const hit = await get();
      expect([from, hit.headers['x-cache'], ...bytes(hit)]).toEqual([from, 'HIT', ...bytes(miss)]);
    }
  });

  it('answers 304 with no body for a matching If-None-Match', async () => {
    const first = await request(app.baseUrl).get('/fixtures/public?page=304').expect(200);
    const revalidated = await request(app.baseUrl)
      .get('/fixtures/public?page=304')
      .set('If-None-Match', first.headers.etag)
      .expect(304);
    expect(revalidated.text ?? '').toBe('');
    expect(revalidated.headers.etag).toBe(first.headers.etag);
    // RFC 9110 8.6: a 304's Content-Length, if any, is the 200's; Fastify wrote 0 for an empty payload.
    expect([revalidated.headers['content-length'], revalidated.headers['content-type']]).toEqual([undefined, undefined]);
    await request(app.baseUrl).get('/fixtures/public?page=304').set('If-None-Match', 'W/"other"').expect(200);
  });

  it('lets HEAD share the GET entry', async () => {
    await request(app.baseUrl).get('/fixtures/public?page=head').expect(200);
    const head = await request(app.baseUrl).head('/fixtures/public?page=head').expect(200);
    expect(head.headers['x-cache']).toBe('HIT');
  });

  it('never serves one caller’s cached body to another caller with different credentials', async () => {
    const alice = await request(app.baseUrl).get('/fixtures/me').set('Authorization', 'Bearer alice').expect(200);
    const bob = await request(app.baseUrl).get('/fixtures/me').set('Authorization', 'Bearer bob').expect(200);
    const aliceAgain = await request(app.baseUrl).get('/fixtures/me').set('Authorization', 'Bearer alice').expect(200);
    expect(alice.body.caller).toBe('Bearer alice');
    expect(bob.body.caller).toBe('Bearer bob');
    expect(bob.headers['x-cache']).toBe('MISS');
    expect(aliceAgain.headers['x-cache']).toBe('HIT');
    expect(aliceAgain.body.caller).toBe('Bearer alice');
    expect(aliceAgain.headers['cache-control']).toBe('private, no-cache');
    await request(app.baseUrl).get('/fixtures/me').expect(403);
    const redis = app.app.get(CacheRegistry).l2!.client;
    const keys = await redis.keys(`${app.config.cache.keyPrefix}:*`);
    expect(keys.join('\n')).not.toMatch(/alice|bob|Bearer/);
  });

  it('runs the handler once for 100 concurrent cold requests', async () => {
    const responses = await Promise.all(
      Array.from({ length: 100 }, () => request(app.baseUrl).get('/fixtures/slow')),
    );
    expect(responses.every((response) => response.status === 200)).toBe(true);
    expect(counter.of('slow')).toBe(1);
  });

  it('does not cache errors or responses that set cookies, and says BYPASS', async () => {
    const missing = await request(app.baseUrl).get('/fixtures/missing/7').expect(404);
    await request(app.baseUrl).get('/fixtures/missing/7').expect(404);
    expect(missing.headers['x-cache']).toBe('BYPASS');
    expect(missing.body).toEqual({ ok: false, say: 'No item 7.', result: { error: 'Not Found' } });
    expect(counter.of('missing')).toBe(2);

    const cookie = await request(app.baseUrl).get('/fixtures/cookie').expect(200);
    const again = await request(app.baseUrl).get('/fixtures/cookie').expect(200);
    expect(cookie.headers['x-cache']).toBe('BYPASS');
    expect(again.headers['set-cookie']).toEqual(['session=2']);
  });

  it('bypasses the cache for Cache-Control: no-store; a caller\'s answer still says private', async () => {
    const response = await request(app.baseUrl).get('/fixtures/public?page=1').set('Cache-Control', 'no-store').expect(200);
    expect(response.headers['x-cache']).toBe('BYPASS');
    const own = await request(app.baseUrl).get('/fixtures/me').set('Authorization', 'Bearer carol').set('Cache-Control', 'no-store').expect(200);
    expect([own.headers['x-cache'], own.headers['cache-control'], own.body.caller]).toEqual(['BYPASS', 'private, no-cache', 'Bearer carol']);
  });

  it('keys a public route by the value of a parameter named like a credential, never writing the value', async () => {
    // Early hits (answered in onRequest) and the interceptor read the same key.
    const alice = await request(app.baseUrl).get('/fixtures/shared?token=alice-link').expect(200);
    const bob = await request(app.baseUrl).get('/fixtures/shared?token=bob-link').expect(200);
    const aliceAgain = await request(app.baseUrl).get('/fixtures/shared?token=alice-link').expect(200);
    expect([alice.body.token, alice.headers['x-cache']]).toEqual(['alice-link', 'MISS']);
    expect([bob.body.token, bob.headers['x-cache']]).toEqual(['bob-link', 'MISS']);
    expect([aliceAgain.body, aliceAgain.headers['x-cache']]).toEqual([alice.body, 'HIT']);
    const redis = app.app.get(CacheRegistry).l2!.client;
    expect((await redis.keys(`${app.config.cache.keyPrefix}:*`)).join('\n')).not.toMatch(/alice|bob/);
  });

  it('keys a path by the resource it names (escapes of unreserved characters share its entry); an absolute-form target bypasses the cache', async () => {
    const plain = await request(app.baseUrl).get('/fixtures/route-config/abc').expect(200);
    const escaped = await request(app.baseUrl).get('/fixtures/route-config/%61b%63').expect(200);
    expect([escaped.body, escaped.headers['x-cache']]).toEqual([plain.body, 'HIT']);
    const port = Number(new URL(app.baseUrl).port);
    // Routed by the path in its query: keyed by its own, it got another resource's entry.
    const smuggled = await sendRaw(port, 'GET http://evil.example?a=/fixtures/route-config/xyz HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n');
    const absolute = await sendRaw(port, 'GET http://evil.example/fixtures/route-config/abc HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n');
    expect([smuggled.status, smuggled.headers['x-cache'], absolute.status, absolute.headers['x-cache']]).toEqual([200, 'BYPASS', 200, 'BYPASS']);
    expect(JSON.parse(absolute.body).id).toBe('abc');
    const redis = app.app.get(CacheRegistry).l2!.client;
    expect((await redis.keys(`${app.config.cache.keyPrefix}:*`)).join('\n')).not.toMatch(/evil/);
  });

  it('honours stock @CacheKey/@CacheTTL with the stock CacheInterceptor and CACHE_MANAGER', async () => {
    const first = await request(app.baseUrl).get('/fixtures/stock-key?x=1').expect(200);
    const second = await request(app.baseUrl).get('/fixtures/stock-key?x=2').expect(200);
    expect(second.body).toEqual(first.body);
    const cacheManager = app.app.get<Cache>(CACHE_MANAGER);
    expect(await cacheManager.get('stock-fixture-key')).toEqual(first.body);
    const redis = app.app.get(CacheRegistry).l2!.client;
    expect(await redis.exists(`${app.config.cache.keyPrefix}:1:{default}:stock-fixture-key`)).toBe(1);
    const expired = await pollUntil(
      () => request(app.baseUrl).get('/fixtures/stock-key').expect(200),
      (response) => response.body.calls !== first.body.calls,
      2_000,
      20,
    );
    expect(expired.value.body.calls).toBe(first.body.calls + 1);
  });

  it('honours @CacheKey/@CacheTTL on our interceptor the same way', async () => {
    const first = await request(app.baseUrl).get('/fixtures/ours-with-stock-decorators?x=1').expect(200);
    const second = await request(app.baseUrl).get('/fixtures/ours-with-stock-decorators?x=2').expect(200);
    expect(second.headers['x-cache']).toBe('HIT');
    expect(second.body).toEqual(first.body);
    const expired = await pollUntil(
      () => request(app.baseUrl).get('/fixtures/ours-with-stock-decorators').expect(200),
      (response) => response.headers['x-cache'] !== 'HIT',
      2_000,
      20,
    );
    expect(expired.value.headers['x-cache']).toBe('MISS');
  });

  it('takes key, TTL, tags and scope from the one @HttpCached decorator, read alike by the interceptor and the inventory', async () => {
    const first = await request(app.baseUrl).get('/fixtures/one-decorator?x=1').expect(200);
    const second = await request(app.baseUrl).get('/fixtures/one-decorator?x=2').expect(200);
    expect(second.headers['x-cache']).toBe('HIT');
    expect(second.body).toEqual(first.body);
    await app.app.get(CacheRegistry).namespace(HTTP_NAMESPACE).invalidateTags('one');
    const afterTag = await request(app.baseUrl).get('/fixtures/one-decorator?x=3').expect(200);
    expect(afterTag.headers['x-cache']).toBe('MISS');
    const expired = await pollUntil(
      () => request(app.baseUrl).get('/fixtures/one-decorator').then((response) => response.headers['x-cache']),
      (status) => status === 'MISS',
      3_000,
      50,
    );
    expect(expired.value).toBe('MISS');
    const { body } = await request(app.baseUrl).get('/admin/cache/inventory').set(ADMIN).expect(200);
    expect(body.routes).toEqual(
      expect.arrayContaining([
        { method: 'GET', path: '/fixtures/one-decorator', namespace: 'http', ttlMs: 150, scope: 'public', tags: ['one'], key: 'one-decorator-key' },
        { method: 'GET', path: '/fixtures/bare-interceptor', namespace: 'http', ttlMs: 'namespace default', scope: 'principal', tags: [] },
      ]),
    );
  });

  it('caches service methods with @Cacheable and evicts on writes with @CacheEvict', async () => {
    const catalog = app.app.get(FixtureCatalog);
    expect(await catalog.price('apple')).toBe(3);
    expect(await catalog.price('apple')).toBe(3);
    expect(counter.of('price:apple')).toBe(1);
    await request(app.baseUrl).post('/fixtures/price/apple/5').expect(201);
    const afterWrite = await request(app.baseUrl).get('/fixtures/price/apple').expect(200);
    expect(afterWrite.body).toEqual({ price: 5, loads: 2 });
    expect(await catalog.price('pear')).toBeNull();
    expect(await catalog.price('pear')).toBeNull();
    expect(counter.of('price:pear')).toBe(1);
    await catalog.repriceAll(2);
    expect(await catalog.price('apple')).toBe(10);
    expect(await catalog.refreshPrice('apple')).toBe(10);
    expect(await catalog.price('apple')).toBe(10);
    expect(counter.of('price:apple')).toBe(3);
  });

  it('reports statistics per namespace, as JSON and as Prometheus text', async () => {
    await request(app.baseUrl).get('/admin/cache/stats').expect(401);
    const stats = await request(app.baseUrl).get('/admin/cache/stats').set(ADMIN).expect(200);
    expect(stats.body).toMatchObject({ l2Configured: true, circuit: 'closed' });
    expect(stats.body.namespaces.http).toMatchObject({ l1Hits: expect.any(Number), misses: expect.any(Number) });
    expect(stats.body.namespaces.http.l1Hits).toBeGreaterThan(0);
    expect(stats.body.namespaces.fixtures.invalidations).toBeGreaterThan(0);
    expect(stats.body.namespaces.http.hitRate).toBeGreaterThan(0);

    const metrics = await request(app.baseUrl).get('/metrics').expect(200);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    expect(metrics.text).toMatch(/cache_lookups_total\{namespace="http",result="l1_hit",service="[^"]+",role="all",instance_id="[^"]+"\} [1-9]/);
    expect(metrics.text).toContain('cache_l2_circuit_open');
    expect(metrics.text).toContain('process_resident_memory_bytes');
  });

  it('lists every declared cache in the inventory', async () => {
    await request(app.baseUrl).get('/admin/cache/inventory').set('X-Admin-Secret', 'wrong').expect(401);
    const { body } = await request(app.baseUrl).get('/admin/cache/inventory').set(ADMIN).expect(200);
    expect(body.namespaces.map((entry: { namespace: string }) => entry.namespace)).toEqual(
      expect.arrayContaining(['default', 'http', 'fixtures']),
    );
    expect(body.namespaces.find((entry: { namespace: string }) => entry.namespace === 'http')).toMatchObject({
      tiers: ['l1', 'l2'],
      ttlMs: 30_000,
      maxEntries: 10_000,
    });
    expect(body.routes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: '/fixtures/public', scope: 'public', ttlMs: 60_000, tags: ['public'] }),
        expect.objectContaining({ path: '/fixtures/me', scope: 'principal' }),
        expect.objectContaining({ path: '/fixtures/ours-with-stock-decorators', key: 'ours-fixture-key', ttlMs: 150 }),
        expect.objectContaining({ path: '/fixtures/early', scope: 'public', earlyHits: true }),
      ]),
    );
    expect(body.routes.find((route: { path: string }) => route.path === '/fixtures/public')).not.toHaveProperty('earlyHits');
    expect(body.methods).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ provider: 'FixtureCatalog', method: 'price', kind: 'cacheable', namespace: 'fixtures' }),
        expect.objectContaining({ method: 'repriceAll', kind: 'evict', tags: ['prices'] }),
      ]),
    );
  });

  it('prunes expired L1 entries in the maintenance job and logs a line per namespace', async () => {
    const registry = app.app.get(CacheRegistry);
    const fixtures = registry.byName('fixtures')!;
    await fixtures.set('short-lived', 1, { ttl: 10 });
    const { value: removed } = await pollUntil(
      async () => app.app.get(CacheMaintenance).prune(),
      (pruned) => (pruned.fixtures ?? 0) >= 1,
      2_000,
      5,
    );
    expect(removed.fixtures).toBeGreaterThanOrEqual(1);
    expect(app.logs.lines.some((line) => /^cache fixtures: pruned \d+ expired/.test(String(line.msg)))).toBe(true);
  });
});

describe('early hits: L1 hits answered before Nest\'s pipeline', () => {
  let app: TestApp;
  let counter: CallCounter;

  beforeAll(async () => {
    app = await startCachedApp();
    counter = app.app.get(CallCounter);
  });
  afterAll(() => app.close());
  afterEach(() => jest.restoreAllMocks());

  it('answers a hit with the interceptor\'s response without entering Nest', async () => {
    const intercept = jest.spyOn(HttpCacheInterceptor.prototype, 'intercept');
    const miss = await request(app.baseUrl).get('/fixtures/early?page=3&a=1').expect(200);
    expect(intercept).toHaveBeenCalledTimes(1);

    const hit = await request(app.baseUrl).get('/fixtures/early?a=1&page=3').expect(200);
    expect(intercept).toHaveBeenCalledTimes(1);
    expect(miss.headers['x-cache']).toBe('MISS');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.body).toEqual({ page: '3', calls: 1 });
    expect(hit.headers.etag).toBe(miss.headers.etag);
    expect(hit.headers['cache-control']).toBe('public, no-cache');
    expect(hit.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(hit.headers['x-request-id']).toBeDefined();
    await request(app.baseUrl).get('/fixtures/early?page=3&a=1').set('If-None-Match', miss.headers.etag).expect(304);
    const head = await request(app.baseUrl).head('/fixtures/early?page=3&a=1').expect(200);
    expect(head.headers['x-cache']).toBe('HIT');
    expect(intercept).toHaveBeenCalledTimes(1);
    expect(counter.of('early')).toBe(1);
  });

  it('leaves no-store requests and invalidated entries to Nest', async () => {
    await request(app.baseUrl).get('/fixtures/early?page=4').expect(200);
    const intercept = jest.spyOn(HttpCacheInterceptor.prototype, 'intercept');
    const bypass = await request(app.baseUrl).get('/fixtures/early?page=4').set('Cache-Control', 'no-store').expect(200);
    expect(bypass.headers['x-cache']).toBe('BYPASS');
    await app.app.get(CacheRegistry).namespace(HTTP_NAMESPACE).invalidateTags('early');
    const reloaded = await request(app.baseUrl).get('/fixtures/early?page=4').expect(200);
    expect(reloaded.headers['x-cache']).toBe('MISS');
    expect(intercept).toHaveBeenCalledTimes(2);
  });

  it('refuses to start when a route asking for early hits has guards or is not public', async () => {
    await expect(startTestApp({ extraModules: [IneligibleEarlyHitsModule] })).rejects.toThrow(
      "@HttpCached({ earlyHits: true }) cannot apply to: IneligibleEarlyHitsController.guarded: the route has guards, which an early hit would skip | IneligibleEarlyHitsController.perPrincipal: scope must be 'public'",
    );
  });
});

describe('route caching in an app built without this project’s bootstrap', () => {
  it('answers 304 and early hits through the hooks CacheModule installs itself', async () => {
    const config = loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'error',
      DATABASE_URL: `file:${path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'jarek-va-test-')), 'plain.sqlite3')}`,
    });
    const app = await NestFactory.create<NestFastifyApplication>(
      AppModule.forRoot(config, { extraModules: [CacheFixturesModule] }),
      new FastifyAdapter(),
      { logger: false },
    );
    await app.listen(0, '127.0.0.1');
    try {
      const base = await app.getUrl();
      const first = await request(base).get('/fixtures/early?page=9').expect(200);
      await request(base).get('/fixtures/early?page=9').set('If-None-Match', first.headers.etag).expect(304);
      const intercept = jest.spyOn(HttpCacheInterceptor.prototype, 'intercept');
      const early = await request(base).get('/fixtures/early?page=9').expect(200);
      expect(early.headers['x-cache']).toBe('HIT');
      expect(intercept).not.toHaveBeenCalled();
      intercept.mockRestore();
    } finally {
      await app.close();
    }
  });
});

describe('route caching with Redis unreachable', () => {
  it('keeps answering from L1 and the handler, opens the breaker, and logs the outage once', async () => {
    const app = await startCachedApp({
      REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
      CACHE_BREAKER_FAILURES: '3',
    });
    try {
      const answers: unknown[] = [];
      for (let i = 0; i < 10; i += 1) {
        answers.push((await request(app.baseUrl).get(`/fixtures/public?page=${i % 3}`).expect(200)).headers['x-cache']);
      }
      // Each page's first request runs the handler; every repeat is answered from L1.
      expect(answers).toEqual(['MISS', 'MISS', 'MISS', 'HIT', 'HIT', 'HIT', 'HIT', 'HIT', 'HIT', 'HIT']);
      expect(app.app.get(CallCounter).of('public')).toBe(3);
      const stats = await request(app.baseUrl).get('/admin/cache/stats').set(ADMIN).expect(200);
      expect(stats.body.circuit).toBe('open');
      const outageLines = app.logs.lines.filter((line) => /Cache L2 \(Redis\) failing/.test(String(line.msg)));
      expect(outageLines).toHaveLength(1);
      expect(String(outageLines[0].msg)).toMatch(/namespace=http, operation=get/);
    } finally {
      await app.close();
    }
  });
});

describe('route caching in the embedded mode (no Redis)', () => {
  it('caches in L1 only, and the prune job runs on its configured interval', async () => {
    const app = await startTestApp({ env: { CACHE_PRUNE_INTERVAL_MS: '1000' }, extraModules: [CacheFixturesModule] });
    try {
      await request(app.baseUrl).get('/fixtures/public').expect(200);
      const hit = await request(app.baseUrl).get('/fixtures/public').expect(200);
      expect(hit.headers['x-cache']).toBe('HIT');
      const stats = await request(app.baseUrl).get('/admin/cache/stats').set(ADMIN).expect(200);
      expect(stats.body).toMatchObject({ l2Configured: false, circuit: 'disabled' });

      const pruneLines = () => app.logs.lines.filter((line) => /^cache http: pruned/.test(String(line.msg)));
      expect(pruneLines()).toHaveLength(0);
      // The first run is due 1 s after boot; the second not before 2 s.
      await pollUntil(async () => pruneLines().length, (runs) => runs > 0, 5_000, 20);
      expect(pruneLines()).toHaveLength(1);
      expect(String(pruneLines()[0].msg)).toMatch(/^cache http: pruned 0 expired, 1\/10000 entries, hit rate 50\.0%/);
    } finally {
      await app.close();
    }
  });
});
