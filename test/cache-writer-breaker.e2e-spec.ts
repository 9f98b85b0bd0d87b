import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { CacheRegistry } from '@app/cache';
import { TcpProxy } from './support/faults/tcp-proxy';
import { FLEET_CACHE, FleetFixturesModule, readFleetSetting } from './support/fleet-fixtures';
import { busOf, heardBy } from './support/invalidation-bus';
import { pollUntil } from './support/poll';
import { startRedisServer, type RedisServerProcess } from './support/redis-server';
import { startTestApp, type TestApp } from './support/test-app';

const ADMIN = { 'X-Admin-Secret': 'test-webhook-secret' };

/**
 * An instance whose cache breaker is open while Redis answers: a few slow reads opened it (here A's
 * connections held for 150 ms, with CACHE_L2_TIMEOUT_MS at its 50 ms default), and it skips Redis
 * for the reads until its cooldown ends. Its writes must still remove what they replace from Redis:
 * otherwise B, told by A's event to drop its L1 copy, reads the old entry back from L2 and answers
 * it until the cooldown or the entry's TTL runs out.
 */
describe('writes on an instance whose cache breaker is open', () => {
  let redis: RedisServerProcess;
  let proxy: TcpProxy;
  let a: TestApp;
  let b: TestApp;

  const registry = (app: TestApp) => app.app.get(CacheRegistry);

  beforeAll(async () => {
    redis = await startRedisServer();
    proxy = await TcpProxy.start(redis.port);
    const env = { CACHE_KEY_PREFIX: `breaker-${randomUUID().slice(0, 8)}` };
    a = await startTestApp({
      // A cooldown far longer than the test: an open breaker stays open unless something closes it.
      env: { ...env, REDIS_URL: proxy.url, APP_ROLE: 'api', CACHE_BREAKER_COOLDOWN_MS: '60000' },
      extraModules: [FleetFixturesModule],
    });
    b = await startTestApp({ env: { ...env, REDIS_URL: redis.url }, databaseFile: a.databaseFile, extraModules: [FleetFixturesModule] });
  });
  afterAll(async () => {
    proxy?.pass();
    await Promise.all([a?.close(), b?.close()]);
    await proxy?.stop();
    await redis?.stop();
  });

  /** Opens A's breaker with reads that time out, then lets A's connections through again. */
  async function openBreakerOnA(): Promise<void> {
    await pollUntil(async () => busOf(a).subscribed && busOf(b).subscribed, Boolean, 10_000, 20);
    proxy.freeze();
    const fleet = registry(a).namespace(FLEET_CACHE);
    await Promise.all([1, 2, 3, 4, 5].map((probe) => fleet.get(['slow-read', probe, randomUUID()])));
    await new Promise((resolve) => setTimeout(resolve, 100));
    proxy.pass();
    expect(registry(a).l2!.circuitState).toBe('open');
  }

  it('removes the old entry from Redis: B answers the new value, not the one it reads back from L2', async () => {
    const name = `breaker-${randomUUID().slice(0, 8)}`;
    await request(a.baseUrl).put(`/fleet/settings/${name}`).send({ enabled: false }).expect(200);
    expect(await readFleetSetting(b, name)).toEqual({ name, value: 0 });
    expect(registry(b).byName('fleet')!.peek(['setting', name])).toEqual({ name, value: 0 });
    await openBreakerOnA();

    await heardBy(a, b, () => request(a.baseUrl).put(`/fleet/settings/${name}`).send({ enabled: true }).expect(200));

    expect(await readFleetSetting(b, name)).toEqual({ name, value: 1 });
    // The write reached Redis, which is proof enough that it answers: reads use it again at once.
    expect(registry(a).l2!.circuitState).toBe('closed');
  });

  it('one admin invalidation of 10 000 tags (the most one event carries) leaves the breaker closed and readiness up', async () => {
    const tags = Array.from({ length: 10_000 }, (_unused, index) => `bulk-${index}`);
    const answer = await request(b.baseUrl).post('/admin/cache/invalidate').set(ADMIN).send({ tags }).expect(200);
    expect(answer.body).toMatchObject({ l2Deferred: false, published: true });
    expect(registry(b).l2!.circuitState).toBe('closed');
    await request(b.baseUrl).get('/health/ready').expect(200);
  });
});
