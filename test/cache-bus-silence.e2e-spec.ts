import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { CacheRegistry } from '@app/cache';
import { CacheInvalidationService } from '@app/cache-invalidation';
import { REDIS_CLIENT, type RedisConnection } from '@app/redis';
import { TcpProxy } from './support/faults/tcp-proxy';
import { FleetFixturesModule, readFleetSetting } from './support/fleet-fixtures';
import { pollUntil } from './support/poll';
import { startFaultyRedis, type FaultyRedis } from './support/redis-server';
import { startTestApp, type TestApp } from './support/test-app';

/** The bound: after a write on one instance answers, no other instance answers the old value longer than this. */
const STALE_BOUND_MS = 2_000;

/**
 * No trust without the bus: an instance that cannot hear invalidations (its subscription closed, or
 * Redis stopped answering it) stops serving L1, and empties it when the subscription answers again.
 * Two instances on a dedicated redis-server, B through a TCP proxy; the fleet fixture caches for
 * 5 minutes, so a missed invalidation would show as a stale read for minutes.
 */
describe('an instance that cannot hear invalidations stops serving L1', () => {
  let redis: FaultyRedis;
  let proxy: TcpProxy;
  let a: TestApp;
  let b: TestApp;

  const write = (app: TestApp, name: string, enabled: boolean) =>
    request(app.baseUrl).put(`/fleet/settings/${name}`).send({ enabled }).expect(200);
  const bus = (app: TestApp) => app.app.get(CacheInvalidationService).status();
  const fleetStats = (app: TestApp) => app.app.get(CacheRegistry).byName('fleet')!.stats;
  const commands = (app: TestApp) => app.app.get<RedisConnection>(REDIS_CLIENT);
  /** Nothing of the app's own invalidations waits to reach Redis or the bus. */
  const settled = (app: TestApp) =>
    app.app.get(CacheRegistry).overview().pendingInvalidations === 0 && bus(app).unsentNamespaces === 0;

  beforeAll(async () => {
    redis = await startFaultyRedis();
    proxy = await TcpProxy.start(redis.port);
    const env = { CACHE_KEY_PREFIX: `silence-${randomUUID().slice(0, 8)}`, CACHE_BREAKER_COOLDOWN_MS: '500' };
    a = await startTestApp({ env: { ...env, REDIS_URL: redis.url }, extraModules: [FleetFixturesModule] });
    b = await startTestApp({
      env: { ...env, REDIS_URL: proxy.url },
      databaseFile: a.databaseFile,
      extraModules: [FleetFixturesModule],
    });
  });
  afterAll(async () => {
    proxy?.pass();
    redis?.thaw();
    await Promise.all([a?.close(), b?.close()]);
    await proxy?.stop();
    await redis?.stop();
  });

  /**
   * Warms B's L1 with value 0, runs `fault`, writes 1 on A and measures how long B keeps answering
   * 0 after A's write answered; then `recover`s and checks B serves from L1 again, with value 1.
   */
  async function staleWindowAcross(name: string, fault: () => Promise<void> | void, recover: () => Promise<void> | void) {
    // A, the writer, must reach Redis: a write it makes while cut off itself reaches B only once A
    // reconnects (test/cache-writer-cut-off.e2e-spec.ts), and after the previous scenario A's
    // command connection may still be waiting out its reconnect delay.
    const ready = await pollUntil(
      async () => bus(b).subscribed && bus(a).subscribed && commands(a).status === 'ready' && settled(a),
      Boolean,
      10_000,
      20,
    );
    expect(ready.value).toBe(true);
    await write(a, name, false);
    // After the previous scenario B trusts its L1 again only once a heartbeat is answered: wait for an L1 hit.
    const warm = await pollUntil(
      async () => {
        const before = fleetStats(b).l1Hits;
        const body = await readFleetSetting(b, name);
        return { body, l1Hit: fleetStats(b).l1Hits === before + 1 };
      },
      ({ body, l1Hit }) => l1Hit && body.value === 0,
      5_000,
      20,
    );
    expect(warm.value).toEqual({ body: { name, value: 0 }, l1Hit: true });
    const { silences, resyncs } = bus(b);

    await fault();
    await write(a, name, true);
    const written = Date.now();
    const seen = await pollUntil(() => readFleetSetting(b, name), (body) => body.value === 1, 10_000, 20);
    const staleMs = Date.now() - written;
    expect(seen.value).toEqual({ name, value: 1 });
    expect(staleMs).toBeLessThanOrEqual(STALE_BOUND_MS);
    // B noticed (a heartbeat slowed by a loaded machine may have emptied its L1 even earlier).
    const noticed = await pollUntil(async () => bus(b).silences, (count) => count > silences, 5_000, 20);
    expect(noticed.value).toBeGreaterThan(silences);

    await recover();
    await pollUntil(async () => bus(b).resyncs, (count) => count > resyncs, 10_000, 20);
    // Every read from now on answers the new value, and B serves it from L1 again. A may still be
    // replaying and re-announcing what it could not send during the fault, and each announcement
    // drops B's entry once more, so B is read in pairs until the second of a pair is an L1 hit.
    const valuesSeen = new Set<number>();
    const l1Again = await pollUntil(
      async () => {
        valuesSeen.add((await readFleetSetting(b, name)).value);
        const hits = fleetStats(b).l1Hits;
        valuesSeen.add((await readFleetSetting(b, name)).value);
        return fleetStats(b).l1Hits === hits + 1;
      },
      Boolean,
      5_000,
      20,
    );
    expect([...valuesSeen]).toEqual([1]);
    expect(l1Again.value).toBe(true);
    return staleMs;
  }

  it('Redis frozen (SIGSTOP): B stops answering the old value within the bound, serves L1 again after SIGCONT', async () => {
    await staleWindowAcross('frozen', () => redis.freeze(), () => redis.thaw());
  });

  it('Redis killed: B stops answering the old value within the bound, serves L1 again once Redis is restarted', async () => {
    await staleWindowAcross('killed', () => redis.kill(), () => redis.restart());
  });

  it("B's connections frozen by the network: same bound, and L1 again once traffic passes", async () => {
    await staleWindowAcross('partitioned', () => proxy.freeze(), () => proxy.pass());
  });

  it("B's subscriber alone goes silent while commands work: L1 is not served until it answers again", async () => {
    await staleWindowAcross('subscriber-silent', () => proxy.freezeSubscribers(), () => proxy.pass());
  });
});
