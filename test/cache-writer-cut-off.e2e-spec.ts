import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { CacheRegistry } from '@app/cache';
import { CacheInvalidationService } from '@app/cache-invalidation';
import { TcpProxy } from './support/faults/tcp-proxy';
import { FleetFixturesModule, readFleetSetting } from './support/fleet-fixtures';
import { pollUntil } from './support/poll';
import { startRedisServer, type RedisServerProcess } from './support/redis-server';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * From the writer's connection coming back to every instance answering the new value: ioredis's
 * reconnect delay (at most 2 s, libs/redis) plus one heartbeat interval and the replay's round trips.
 */
const RECOVERY_BOUND_MS = 3_000;

/**
 * Redis unreachable from the writer alone: A, behind a TCP proxy, loses every connection while B
 * keeps its own and keeps hearing the bus. A's write still answers; its L2 removal and its event
 * cannot leave A, so B keeps answering the old value (from its L1, then from L2) until A can reach
 * Redis again — and, without traffic on A, no longer than that: the removal is replayed and the
 * event sent as soon as A's connection is back (docs/caching.md, "Redis unreachable from one instance").
 */
describe('a write made while its instance alone cannot reach Redis', () => {
  let redis: RedisServerProcess;
  let proxy: TcpProxy;
  let a: TestApp;
  let b: TestApp;

  const bus = (app: TestApp) => app.app.get(CacheInvalidationService).status();
  const cache = (app: TestApp) => app.app.get(CacheRegistry);

  beforeAll(async () => {
    redis = await startRedisServer();
    proxy = await TcpProxy.start(redis.port);
    const env = { CACHE_KEY_PREFIX: `cutoff-${randomUUID().slice(0, 8)}` };
    // A serves the API only: its write path, the subject here, runs no jobs.
    a = await startTestApp({
      env: { ...env, REDIS_URL: proxy.url, APP_ROLE: 'api' },
      extraModules: [FleetFixturesModule],
    });
    b = await startTestApp({
      env: { ...env, REDIS_URL: redis.url },
      databaseFile: a.databaseFile,
      extraModules: [FleetFixturesModule],
    });
  });
  afterAll(async () => {
    proxy?.pass();
    await Promise.all([a?.close(), b?.close()]);
    await proxy?.stop();
    await redis?.stop();
  });

  it('reaches the other instances once its connection is back, with no further request to it', async () => {
    const name = 'cut-off';
    await pollUntil(async () => bus(a).subscribed && bus(b).subscribed, Boolean, 10_000, 20);
    await request(a.baseUrl).put(`/fleet/settings/${name}`).send({ enabled: false }).expect(200);
    expect(await readFleetSetting(b, name)).toEqual({ name, value: 0 });
    expect(await readFleetSetting(b, name)).toEqual({ name, value: 0 });
    expect(cache(b).byName('fleet')!.stats.l1Hits).toBeGreaterThan(0);
    const failuresBefore = bus(a).publishFailures;

    proxy.refuse();
    await pollUntil(async () => bus(a).subscribed, (subscribed) => !subscribed, 5_000, 20);
    await request(a.baseUrl).put(`/fleet/settings/${name}`).send({ enabled: true }).expect(200);
    expect(bus(a).publishFailures).toBe(failuresBefore + 1);
    expect(bus(a).unsentNamespaces).toBe(1);
    expect(cache(a).overview().pendingInvalidations).toBeGreaterThan(0);
    // What B cannot know yet: the write's event never left A.
    expect(await readFleetSetting(b, name)).toEqual({ name, value: 0 });

    proxy.pass();
    const passedAt = Date.now();
    const seen = await pollUntil(() => readFleetSetting(b, name), (body) => body.value === 1, 10_000, 20);
    const recoveryMs = Date.now() - passedAt;
    expect(seen.value).toEqual({ name, value: 1 });
    expect(recoveryMs).toBeLessThanOrEqual(RECOVERY_BOUND_MS);

    // The kept event is re-sent once A reaches the bus (more than once should a publish time out again).
    const settled = await pollUntil(
      async () => ({ pending: cache(a).overview().pendingInvalidations, unsent: bus(a).unsentNamespaces, resent: bus(a).resent }),
      ({ pending, unsent, resent }) => pending === 0 && unsent === 0 && resent > 0,
      5_000,
      20,
    );
    expect(settled.value).toEqual({ pending: 0, unsent: 0, resent: expect.any(Number) });
    expect(settled.value.resent).toBeGreaterThan(0);
    // Neither tier of B holds the old value any more: read twice, the second from L1.
    expect(await readFleetSetting(b, name)).toEqual({ name, value: 1 });
    const hits = cache(b).byName('fleet')!.stats.l1Hits;
    expect(await readFleetSetting(b, name)).toEqual({ name, value: 1 });
    expect(cache(b).byName('fleet')!.stats.l1Hits).toBe(hits + 1);
  });
});
