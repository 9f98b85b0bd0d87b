import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { loadConfig } from '@app/config';
import { CacheRegistry, defineCacheNamespace, Uncacheable, type NamespaceCache } from '@app/cache';
import { CacheKeyBuilder } from '@app/cache/key-builder';
import { RedisTier } from '@app/cache/redis-tier';
import { redisConnectionOptions } from '@app/redis';
import { pollUntil } from './support/poll';
import { watchCommands } from './support/redis-command-feed';
import { recordKeyPrefixes } from './support/redis-key-ledger';
import { removeRedisKeys, storedEntry } from './support/redis-keys';
import { CLOSED_PORT, startRedisServer, untilReady, type RedisServerProcess } from './support/redis-server';
import { testRedisUrl } from './support/test-app';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const THINGS = defineCacheNamespace({ name: 'things', ttl: 200, maxEntries: 3, grace: '2s', description: 'test' });
const TAGGED = defineCacheNamespace({ name: 'tagged', ttl: 100, description: 'test: tag indexes without grace' });

interface Harness {
  registry: CacheRegistry;
  cache: NamespaceCache;
  redis: Redis;
  prefix: string;
}

const opened: Redis[] = [];
/** The key prefixes harnesses used in the run's shared Redis, removed after the file (and checked by the global teardown). */
const sharedPrefixes: string[] = [];

function connect(url: string): Redis {
  const redis = new Redis(url, { ...redisConnectionOptions, lazyConnect: false });
  redis.on('error', () => undefined);
  opened.push(redis);
  return redis;
}

function harness(url = testRedisUrl(), env: Record<string, string> = {}): Harness {
  const prefix = `t-${randomUUID().slice(0, 8)}`;
  if (url === testRedisUrl()) {
    recordKeyPrefixes(url, [`${prefix}:`]);
    sharedPrefixes.push(`${prefix}:`);
  }
  const config = loadConfig({ NODE_ENV: 'test', CACHE_KEY_PREFIX: prefix, ...env });
  const redis = connect(url);
  const registry = new CacheRegistry(config, redis);
  return { registry, cache: registry.namespace(THINGS), redis, prefix };
}

afterAll(async () => {
  // A connection to a server a test stopped is reconnecting: QUIT would wait for it, so close it hard.
  await Promise.all(
    opened.map(async (redis) => {
      // A connection can still say 'ready' for the instant after its server went away: QUIT then throws.
      if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
      else redis.disconnect();
    }),
  );
  for (const prefix of sharedPrefixes) await removeRedisKeys(testRedisUrl(), prefix);
});

describe('two tiers over a real Redis', () => {
  it('misses, loads once, then hits L1; a second instance hits L2 and backfills its L1', async () => {
    const first = harness();
    await untilReady(first.redis);
    let loads = 0;
    const loader = async () => {
      loads += 1;
      return { answer: 42 };
    };
    expect(await first.cache.getOrLoad('k', loader)).toEqual({ value: { answer: 42 }, status: 'MISS' });
    expect(await first.cache.getOrLoad('k', loader)).toEqual({ value: { answer: 42 }, status: 'HIT' });
    expect(loads).toBe(1);
    expect(first.cache.snapshot()).toMatchObject({ l1Hits: 1, l2Hits: 0, misses: 1, loads: 1, sets: 1 });

    expect(storedEntry(await first.redis.get(first.cache.key('k')))?.value).toEqual({ answer: 42 });
    expect(first.cache.key('k')).toBe(`${first.prefix}:1:{things}:k`);

    const secondRegistry = new CacheRegistry(
      loadConfig({ NODE_ENV: 'test', CACHE_KEY_PREFIX: first.prefix }),
      first.redis,
    );
    const second = secondRegistry.namespace(THINGS);
    expect(await second.get('k')).toEqual({ answer: 42 });
    expect(await second.get('k')).toEqual({ answer: 42 });
    expect(second.snapshot()).toMatchObject({ l2Hits: 1, l1Hits: 1, misses: 0 });
  });

  it('expires entries after their TTL in both tiers', async () => {
    const { cache, redis } = harness();
    await untilReady(redis);
    const setAt = Date.now();
    await cache.set('short', 'v', { ttl: 80 });
    expect(await cache.get('short')).toBe('v');
    const { value } = await pollUntil(() => cache.get('short'), (read) => read === undefined, 2_000, 10);
    expect(value).toBeUndefined();
    expect(Date.now() - setAt).toBeGreaterThanOrEqual(80);
    // Redis keeps it for the grace window only (ttl 80 ms + grace 2 s), for stale-if-error.
    const pttl = await redis.pttl(cache.key('short'));
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(2_080);
  });

  it('bounds L1 by entries; evicted entries are still served from L2', async () => {
    const { cache, redis } = harness();
    await untilReady(redis);
    for (const key of ['a', 'b', 'c', 'd', 'e']) await cache.set(key, key);
    expect(cache.snapshot()).toMatchObject({ size: 3, evictions: 2, maxEntries: 3 });
    expect(await cache.get('a')).toBe('a');
    expect(cache.snapshot().l2Hits).toBe(1);
  });

  it('keeps an L1 copy no longer than the namespace ceiling, then reads L2 again', async () => {
    const { registry, redis } = harness();
    await untilReady(redis);
    const ceiling = registry.namespace(
      defineCacheNamespace({ name: 'ceiling', ttl: '1m', l1Ttl: 40, description: 'test' }),
    );
    await ceiling.set('k', 'v');
    expect(await ceiling.get('k')).toBe('v');
    expect(ceiling.snapshot()).toMatchObject({ l1Hits: 1, l2Hits: 0 });
    await sleep(70);
    expect(await ceiling.get('k')).toBe('v');
    expect(ceiling.snapshot()).toMatchObject({ l1Hits: 1, l2Hits: 1 });
  });

  it('tells invalidation listeners what was written or invalidated, with full keys and never values', async () => {
    const { registry, cache, redis } = harness();
    await untilReady(redis);
    const notices: unknown[] = [];
    const unsubscribe = registry.onInvalidation((notice) => {
      notices.push(notice);
    });
    await cache.set('secret-value-holder', 'do-not-broadcast', { tags: ['t'] });
    await cache.delete('secret-value-holder');
    await cache.invalidateTags('t');
    await cache.clear();
    unsubscribe();
    await cache.delete('after-unsubscribe');
    expect(notices).toEqual([
      // The set: other instances drop their copy of the key.
      { namespace: 'things', keys: [cache.key('secret-value-holder')] },
      { namespace: 'things', keys: [cache.key('secret-value-holder')] },
      { namespace: 'things', tags: ['t'] },
      { namespace: 'things', all: true },
    ]);
    expect(JSON.stringify(notices)).not.toContain('do-not-broadcast');
  });

  it('keeps a tag index to live entries and lets it expire with them, so it cannot grow without bound', async () => {
    const { registry, redis } = harness();
    await untilReady(redis);
    const cache = registry.namespace(TAGGED);
    const busy = registry.keys.tagIndex(TAGGED.name, 'busy');
    await cache.set('long', 0, { tags: ['busy'], ttl: 60_000 });
    await cache.set('expired', 1, { tags: ['busy'], ttl: 20 });
    await sleep(60);
    await cache.set('live', 2, { tags: ['busy'], ttl: 60_000 });

    // The long-lived entry keeps the index alive; the expired one was trimmed by the next write.
    expect(await redis.zrange(busy, 0, -1)).toEqual([cache.key('long'), cache.key('live')]);
    expect(await redis.pttl(busy)).toBeGreaterThan(55_000);
    await cache.set('brief', 3, { tags: ['brief'] });
    const brief = await redis.pttl(registry.keys.tagIndex(TAGGED.name, 'brief'));
    expect(brief).toBeGreaterThan(0);
    expect(brief).toBeLessThanOrEqual(100);
  });

  it('runs the loader once for 200 concurrent cold calls', async () => {
    const { cache, redis } = harness();
    await untilReady(redis);
    let loads = 0;
    const results = await Promise.all(
      Array.from({ length: 200 }, () =>
        cache.wrap('cold', async () => {
          loads += 1;
          await sleep(30);
          return 'loaded';
        }),
      ),
    );
    expect(loads).toBe(1);
    expect(new Set(results)).toEqual(new Set(['loaded']));
    expect(cache.snapshot().loads).toBe(1);
  });

  it('does not share an Uncacheable answer with waiters: each runs its own loader', async () => {
    const { cache, redis } = harness();
    await untilReady(redis);
    let calls = 0;
    const results = await Promise.all(
      Array.from({ length: 3 }, () =>
        cache.wrap('personal', async () => {
          calls += 1;
          await sleep(10);
          return new Uncacheable(`call-${calls}`);
        }),
      ),
    );
    expect(calls).toBe(3);
    expect(await cache.get('personal')).toBeUndefined();
    expect(results).toHaveLength(3);
  });

  it('serves an expired value as STALE inside the grace window when the loader fails', async () => {
    const { cache, redis } = harness();
    await untilReady(redis);
    await cache.set('graceful', 'old', { ttl: 30 });
    await pollUntil(() => cache.get('graceful'), (read) => read === undefined, 2_000, 5);
    const result = await cache.getOrLoad('graceful', async () => {
      throw new Error('source down');
    });
    expect(result).toEqual({ value: 'old', status: 'STALE' });
    expect(cache.snapshot()).toMatchObject({ staleServes: 1, loadErrors: 1 });
    await expect(
      cache.getOrLoad('never-cached', async () => {
        throw new Error('source down');
      }),
    ).rejects.toThrow('source down');
  });

  it('invalidates by key, by tag and by namespace in both tiers (SCAN, never KEYS)', async () => {
    const { cache, redis } = harness();
    await untilReady(redis);
    await cache.set('one', 1, { tags: ['odd'] });
    await cache.set('two', 2, { tags: ['even'] });
    await cache.set('three', 3, { tags: ['odd'] });
    await cache.invalidateTags('odd');
    expect(await redis.exists(cache.key('one'), cache.key('three'))).toBe(0);
    expect(await cache.get('one')).toBeUndefined();
    expect(await cache.get('two')).toBe(2);
    await cache.delete('two');
    expect(await redis.exists(cache.key('two'))).toBe(0);
    await cache.set('four', 4, { tags: ['even'] });
    await cache.clear();
    const [, left] = await redis.scan('0', 'MATCH', `${cache.key('')}*`, 'COUNT', 1000);
    expect(left).toEqual([]);
    expect(await cache.get('four')).toBeUndefined();
  });

  it('a namespace clear slower than its wait goes on to its end without opening the breaker, then is reported; a clear asked meanwhile runs after it', async () => {
    const redis = connect(testRedisUrl());
    await untilReady(redis);
    const prefix = `t-${randomUUID().slice(0, 8)}`;
    recordKeyPrefixes(testRedisUrl(), [`${prefix}:`]);
    sharedPrefixes.push(`${prefix}:`);
    const keys = new CacheKeyBuilder(prefix, '1');
    const errors: string[] = [];
    const replayed: unknown[] = [];
    const tier = new RedisTier(redis, keys, {
      timeoutMs: 200,
      writeTimeoutMs: 200,
      breakerFailures: 1,
      breakerCooldownMs: 60_000,
      clearTimeoutMs: 50,
      onError: (namespace) => errors.push(namespace),
      onReplayed: (namespace, selection) => replayed.push({ namespace, selection }),
    });
    const entry = (name: string) => `${keys.namespacePrefix('things')}${name}`;
    await redis.set(entry('old'), 'x');
    // A large keyspace: every SCAN page takes a while, as SCAN walks every key of the database.
    const scan = redis.scan.bind(redis) as (...args: unknown[]) => Promise<[string, string[]]>;
    let pages = 0;
    Object.assign(redis, {
      scan: async (...args: unknown[]) => {
        pages += 1;
        await sleep(150);
        return scan(...args);
      },
    });

    const started = Date.now();
    expect(await tier.clearNamespace('things')).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(150);
    // Stored after the first clear began: the clear asked now must remove it too.
    await redis.set(entry('meanwhile'), 'y');
    expect(await tier.clearNamespace('things')).toBeUndefined();
    await pollUntil(async () => replayed.length, (count) => count === 2, 10_000, 20);

    expect(await redis.exists(entry('old'), entry('meanwhile'))).toBe(0);
    expect(replayed).toEqual([
      { namespace: 'things', selection: { all: true } },
      { namespace: 'things', selection: { all: true } },
    ]);
    expect(errors).toEqual([]);
    expect(tier.circuitState).toBe('closed');
    expect(tier.pendingInvalidations()).toBe(0);
    const pagesAfter = pages;
    await sleep(400);
    expect(pages).toBe(pagesAfter);
  });

  it('leaves no entry its tags cannot reach when another instance stores one while the namespace is cleared', async () => {
    const { cache, redis, prefix } = harness();
    await untilReady(redis);
    const otherRedis = connect(testRedisUrl());
    await untilReady(otherRedis);
    const other = new CacheRegistry(loadConfig({ NODE_ENV: 'test', CACHE_KEY_PREFIX: prefix }), otherRedis).namespace(THINGS);
    await cache.set('old', 1, { tags: ['fresh'] });
    // Another instance's store lands between the clear's two SCAN passes (entries, tag indexes).
    const scan = redis.scan.bind(redis) as (...args: unknown[]) => Promise<[string, string[]]>;
    let injected = false;
    Object.assign(redis, {
      scan: async (...args: unknown[]) => {
        const page = await scan(...args);
        if (!injected) {
          injected = true;
          await other.set('late', 2, { tags: ['fresh'] });
        }
        return page;
      },
    });
    await cache.clear();
    expect(injected).toBe(true);
    // Whatever the clear left of the late entry, its tag still reaches it: a write evicting the tag removes it.
    await other.invalidateTags('fresh');
    expect(await redis.exists(cache.key('late'), cache.key('old'))).toBe(0);
  });

  it("lets a write's tag eviction reach every entry the clear has not removed yet", async () => {
    const { cache, redis, prefix } = harness();
    await untilReady(redis);
    const connectOther = async () => {
      const otherRedis = connect(testRedisUrl());
      await untilReady(otherRedis);
      return new CacheRegistry(loadConfig({ NODE_ENV: 'test', CACHE_KEY_PREFIX: prefix }), otherRedis).namespace(THINGS);
    };
    const writer = await connectOther();
    const reader = await connectOther();
    const seen: unknown[] = [];
    const scan = redis.scan.bind(redis) as (...args: unknown[]) => Promise<[string, string[]]>;
    Object.assign(redis, {
      // Right before the clear's SCAN of the entries: the row is written anew elsewhere (its tag evicted), then read by a third instance.
      scan: async (...args: unknown[]) => {
        if (seen.length === 0 && String(args[2]).endsWith('{things}:*')) {
          await writer.invalidateTags('fresh');
          seen.push(await reader.get('row'));
        }
        return scan(...args);
      },
    });
    await cache.set('row', 'before the write', { tags: ['fresh'] });
    await cache.clear();
    expect(seen).toEqual([undefined]);
  });

  it('keeps no entry the clear removed in the L1 of the instance that cleared, though it read one meanwhile', async () => {
    const { cache, redis } = harness();
    await untilReady(redis);
    await cache.set('row', 'before the clear');
    const unlink = redis.unlink.bind(redis) as (...keys: string[]) => Promise<number>;
    let readMeanwhile: unknown;
    Object.assign(redis, {
      unlink: async (...keys: string[]) => {
        // A read on this instance while the clear runs: L1 was dropped, Redis still has the entry.
        readMeanwhile ??= await cache.get('row');
        return unlink(...keys);
      },
    });
    await cache.clear();
    expect(readMeanwhile).toBe('before the clear');
    expect(await cache.get('row')).toBeUndefined();
  });

  it('does not store a load that an invalidation overtook', async () => {
    const { cache, redis } = harness();
    await untilReady(redis);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let loading!: () => void;
    const loaderStarted = new Promise<void>((resolve) => (loading = resolve));
    const slowRead = cache.wrap('row', async () => {
      loading();
      await gate;
      return 'before-write';
    });
    await loaderStarted;
    await cache.delete('row');
    release();
    expect(await slowRead).toBe('before-write');
    expect(await cache.get('row')).toBeUndefined();
    expect(await redis.exists(cache.key('row'))).toBe(0);
  });
});

describe('failing open with Redis unreachable', () => {
  it('treats a port where nothing listens as misses, opens the breaker and adds no latency', async () => {
    const { cache, registry } = harness(`redis://127.0.0.1:${CLOSED_PORT}`, {
      CACHE_BREAKER_FAILURES: '3',
      CACHE_BREAKER_COOLDOWN_MS: '60000',
    });
    let loads = 0;
    for (let i = 0; i < 5; i += 1) {
      expect(await cache.wrap(`k${i}`, async () => (loads += 1))).toBe(i + 1);
    }
    expect(registry.overview().circuit).toBe('open');
    const started = performance.now();
    for (let i = 0; i < 200; i += 1) await cache.get(`fresh-${i}`);
    const perOperationMs = (performance.now() - started) / 200;
    expect(perOperationMs).toBeLessThan(1);
    expect(cache.snapshot().l2Errors).toBeGreaterThanOrEqual(3);
    expect(await cache.get('k4')).toBe(5);
  });

  it('gives up on a slow Redis within the L2 budget and answers from the loader', async () => {
    const server = await startRedisServer();
    const blocker = connect(server.url);
    try {
      const { cache, redis } = harness(server.url, { CACHE_L2_TIMEOUT_MS: '50' });
      await Promise.all([untilReady(redis), untilReady(blocker)]);
      // A busy script blocks the whole server for 1 s, as a Redis stuck on a slow command would.
      const blocked = blocker.eval(
        `local t0 = redis.call('TIME')
         repeat local t = redis.call('TIME') until (t[1] - t0[1]) * 1000000 + (t[2] - t0[2]) > 1000000
         return 1`,
        0,
      );
      await sleep(20);
      const started = performance.now();
      expect(await cache.wrap('slow', async () => 'from-loader')).toBe('from-loader');
      const elapsedMs = performance.now() - started;
      expect(elapsedMs).toBeGreaterThanOrEqual(45);
      expect(elapsedMs).toBeLessThan(400);
      expect(cache.snapshot().l2Errors).toBeGreaterThanOrEqual(1);
      await blocked;
    } finally {
      await server.stop();
    }
  });

  it('keeps answering while the server is stopped mid-test, then closes the breaker when it returns', async () => {
    let server: RedisServerProcess = await startRedisServer();
    try {
      const { cache, registry, redis } = harness(server.url, {
        CACHE_BREAKER_FAILURES: '2',
        CACHE_BREAKER_COOLDOWN_MS: '200',
      });
      await untilReady(redis);
      await cache.set('kept', 'in-l1-and-l2');
      await cache.set('removed-during-outage', 'old');
      await server.stop();
      await pollUntil(async () => redis.status, (status) => status !== 'ready', 2_000, 5);

      expect(await cache.get('kept')).toBe('in-l1-and-l2');
      let loads = 0;
      for (let i = 0; i < 4; i += 1) expect(await cache.wrap(`during-${i}`, async () => ++loads)).toBe(i + 1);
      await cache.delete('removed-during-outage');
      expect(registry.overview()).toMatchObject({ circuit: 'open', pendingInvalidations: 1 });

      server = await startRedisServer(server.port);
      await untilReady(redis);
      // The breaker lets a trial call through once its 200 ms cooldown has passed.
      const { value: circuit } = await pollUntil(
        async () => {
          await cache.get('never-stored');
          return registry.overview().circuit;
        },
        (state) => state === 'closed',
        3_000,
        20,
      );
      expect(circuit).toBe('closed');
      const { value: pending } = await pollUntil(async () => registry.overview().pendingInvalidations, (count) => count === 0, 2_000, 5);
      expect(pending).toBe(0);
      // After the replay: a load running across it would not be stored (the namespace's generation moved).
      await cache.wrap('after', async () => 'back');
      expect(await redis.exists(cache.key('removed-during-outage'))).toBe(0);
      expect(storedEntry(await redis.get(cache.key('after')))?.value).toBe('back');
    } finally {
      await server.stop();
    }
  });
});

describe('what an L2 read sends to Redis', () => {
  it('answers an L2 hit with one GET of the entry; a miss reads the generation before its loader, then stores', async () => {
    // A server of this test's own: MONITOR on it sees this test's commands only.
    const server = await startRedisServer();
    try {
      const { registry, redis, prefix } = harness(server.url);
      await untilReady(redis);
      await registry.namespace(THINGS).set('warm', { answer: 42 });
      const reader = new CacheRegistry(loadConfig({ NODE_ENV: 'test', CACHE_KEY_PREFIX: prefix }), redis).namespace(THINGS);
      const monitor = await watchCommands(server);
      const sent = () => monitor.commands.map((args) => `${args[0].toLowerCase()} ${args[1] ?? ''}`);
      try {
        expect(await reader.getOrLoad('warm', async () => 'loaded')).toEqual({ value: { answer: 42 }, status: 'HIT' });
        let commandsSeenByLoader: string[] = [];
        await reader.getOrLoad('cold', async () => {
          await pollUntil(async () => monitor.commands.length, (count) => count >= 3, 2_000, 5);
          commandsSeenByLoader = sent();
          return 'loaded';
        });
        const generation = registry.keys.generation(THINGS.name);
        expect(commandsSeenByLoader).toEqual([`get ${reader.key('warm')}`, `get ${reader.key('cold')}`, `get ${generation}`]);
        const { value: all } = await pollUntil(async () => sent(), (commands) => commands.length >= 4, 2_000, 5);
        expect(['evalsha', 'eval']).toContain(all[3].split(' ')[0]);
      } finally {
        monitor.close();
      }
    } finally {
      await server.stop();
    }
  });
});
