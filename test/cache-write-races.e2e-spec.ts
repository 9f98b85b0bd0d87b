import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import request from 'supertest';
import { CacheRegistry, defineCacheNamespace, type NamespaceCache } from '@app/cache';
import { CacheInvalidationService } from '@app/cache-invalidation';
import { loadConfig } from '@app/config';
import { redisConnectionOptions } from '@app/redis';
import { TcpProxy } from './support/faults/tcp-proxy';
import { FleetFixturesModule, FleetSettings } from './support/fleet-fixtures';
import { pollUntil } from './support/poll';
import { startFaultyRedis, type FaultyRedis } from './support/redis-server';
import { startTestApp, type TestApp } from './support/test-app';

const TAGGED = defineCacheNamespace({ name: 'tagged', ttl: '1m', description: 'test: tagged entries' });

/** A promise and the function that resolves it. */
function latch(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/**
 * A write is never undone by the cache: an entry and its tag-index membership land together, and
 * a value loaded before an invalidation is never stored after it — also when the load runs on
 * another instance that has not heard of the invalidation yet.
 */
describe('writes are never undone by the cache', () => {
  let redis: FaultyRedis;

  beforeAll(async () => {
    redis = await startFaultyRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  describe('two instances, a read on B in flight across a write on A', () => {
    let proxy: TcpProxy;
    let a: TestApp;
    let b: TestApp;

    beforeAll(async () => {
      proxy = await TcpProxy.start(redis.port);
      const prefix = `race-${randomUUID().slice(0, 8)}`;
      a = await startTestApp({ env: { REDIS_URL: redis.url, CACHE_KEY_PREFIX: prefix }, extraModules: [FleetFixturesModule] });
      b = await startTestApp({
        env: { REDIS_URL: proxy.url, CACHE_KEY_PREFIX: prefix },
        databaseFile: a.databaseFile,
        extraModules: [FleetFixturesModule],
      });
      await pollUntil(async () => b.app.get(CacheInvalidationService).status().subscribed, Boolean, 5_000, 20);
    });
    afterAll(async () => {
      proxy?.pass();
      await Promise.all([a?.close(), b?.close()]);
      await proxy?.stop();
    });

    it('B loads the old row, A writes and answers, B stores late: no instance answers the old value afterwards', async () => {
      const name = 'raced';
      const read = (app: TestApp) => request(app.baseUrl).get(`/fleet/settings/${name}`).expect(200);
      await request(a.baseUrl).put(`/fleet/settings/${name}`).send({ enabled: false }).expect(200);

      // B hears A's event only after its late store, as when the event is still on the wire.
      proxy.freezeSubscribers();
      const loaded = latch();
      const release = latch();
      const fleetOnB = b.app.get(FleetSettings);
      fleetOnB.afterRead = async () => {
        loaded.open();
        await release.promise;
      };
      const inFlight = read(b).then((response) => response);
      await loaded.promise;
      fleetOnB.afterRead = undefined;

      await request(a.baseUrl).put(`/fleet/settings/${name}`).send({ enabled: true }).expect(200);
      release.open();
      expect((await inFlight).body).toEqual({ name, value: 0 });

      expect((await read(a)).body).toEqual({ name, value: 1 });
      const bus = b.app.get(CacheInvalidationService);
      const appliedBefore = bus.status().applied;
      proxy.pass();
      await pollUntil(async () => bus.status().applied, (applied) => applied > appliedBefore, 5_000, 10);
      expect((await read(b)).body).toEqual({ name, value: 1 });
    });
  });

  describe('the Redis tier', () => {
    const opened: Redis[] = [];
    const instance = async (prefix: string): Promise<NamespaceCache> => {
      const connection = new Redis(redis.url, { ...redisConnectionOptions, lazyConnect: false });
      connection.on('error', () => undefined);
      opened.push(connection);
      await new Promise((resolve) => connection.once('ready', resolve));
      return new CacheRegistry(loadConfig({ NODE_ENV: 'test', CACHE_KEY_PREFIX: prefix, CACHE_L2_TIMEOUT_MS: '1000' }), connection).namespace(
        TAGGED,
      );
    };
    afterAll(async () => {
      await Promise.all(opened.map((connection) => connection.quit()));
    });

    it('an invalidation sent while a loaded value is on its way to Redis removes it (20 races)', async () => {
      const prefix = `atomic-${randomUUID().slice(0, 8)}`;
      const writer = await instance(prefix);
      const invalidator = await instance(prefix);
      const reader = await instance(prefix);
      let survived = 0;
      for (let round = 0; round < 20; round += 1) {
        let racing: Promise<void> | undefined;
        await writer.getOrLoad(
          ['entry', round],
          async () => {
            // Sent on another connection while the writer stores what it loaded.
            racing = invalidator.invalidateTags('group');
            return { round };
          },
          { tags: ['group'] },
        );
        await racing;
        if ((await reader.get(['entry', round])) !== undefined) survived += 1;
      }
      expect(survived).toBe(0);
    });

    it('a value loaded before an invalidation elsewhere is not stored in Redis after it', async () => {
      const prefix = `late-${randomUUID().slice(0, 8)}`;
      const slowReader = await instance(prefix);
      const writer = await instance(prefix);
      const laterReader = await instance(prefix);
      const loaded = latch();
      const release = latch();
      const inFlight = slowReader.getOrLoad(
        'row',
        async () => {
          loaded.open();
          await release.promise;
          return 'old';
        },
        { tags: ['rows'] },
      );
      await loaded.promise;
      // The writer's announcement never reaches the slow reader: only Redis can stop its store.
      await writer.invalidate({ keys: [writer.key('row')] }, { announce: false });
      release.open();
      expect(await inFlight).toEqual({ value: 'old', status: 'MISS' });
      expect(await laterReader.getOrLoad('row', async () => 'new')).toEqual({ value: 'new', status: 'MISS' });
    });

    it.each([
      ['on the same instance', false],
      ['on another instance, which never hears of it', true],
    ])('a value loaded before an explicit set %s does not overwrite it, in L1 or in Redis', async (_where, elsewhere) => {
      const prefix = `set-${randomUUID().slice(0, 8)}`;
      const slowReader = await instance(prefix);
      const writer = elsewhere ? await instance(prefix) : slowReader;
      const laterReader = await instance(prefix);
      const loaded = latch();
      const release = latch();
      const inFlight = slowReader.getOrLoad('row', async () => {
        loaded.open();
        await release.promise;
        return 'old';
      });
      await loaded.promise;
      await writer.set('row', 'new');
      release.open();
      // Current when the read began, so its caller gets it; but it is not stored.
      expect(await inFlight).toEqual({ value: 'old', status: 'MISS' });
      expect(await slowReader.get('row')).toBe('new');
      expect(await writer.get('row')).toBe('new');
      expect(await laterReader.get('row')).toBe('new');
    });
  });
});
