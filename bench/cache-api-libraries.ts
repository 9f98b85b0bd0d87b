/**
 * The libraries `npm run bench:api` compares and the operations it measures on each, as the process
 * that holds one library runs them (bench/cache-api-process.ts): this project's NamespaceCache,
 * BentoCache, cache-manager 7 + @keyv/redis and cacheable, each set up as two tiers (memory, then
 * Redis) the way its documentation shows, storing the same ~1.1 KB object.
 */
import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import KeyvRedis from '@keyv/redis';
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { redisDriver } from 'bentocache/drivers/redis';
import { Cacheable, KeyvCacheableMemory } from 'cacheable';
import { createCache } from 'cache-manager';
import Redis from 'ioredis';
import { Keyv } from 'keyv';
import { CacheRegistry, defineCacheNamespace } from '@app/cache';
import { loadConfig } from '@app/config';
import { openRedis } from '@app/redis';
import { BENCH_PAYLOAD } from './bench-payload';

export const OPERATION_MS = Number(process.env.BENCH_API_OPERATION_MS ?? 700);
export const CONCURRENCY = 32;
const L2_KEYS = 2_000;
const WRAP_CALLERS = 100;
const WRAP_KEYS = 100;
const TTL_MS = 60_000;

/** What the bench asks of each library. */
export interface CacheUnderTest {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<unknown>;
  wrap(key: string, loader: () => Promise<unknown>): Promise<unknown>;
  /** A get through an instance of the same cache whose L1 keeps one entry: every read of a new key goes to L2. */
  getThroughL2(key: string): Promise<unknown>;
  close(): Promise<void>;
}

interface Library {
  name: string;
  create(redisUrl: string, prefix: string): Promise<CacheUnderTest>;
}

export const LIBRARIES: Library[] = [
  {
    name: "this project's NamespaceCache",
    async create(redisUrl, prefix) {
      const config = loadConfig({
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        REDIS_URL: redisUrl,
        WEBHOOK_SECRET: 'bench-webhook-secret',
        TELEGRAM_WEBHOOK_SECRET: 'bench-telegram-secret',
        CACHE_KEY_PREFIX: prefix,
        // The peers wait for Redis as long as it takes; a 50 ms budget on this busy machine would
        // open the breaker and turn L2 reads into misses, which is not what this row measures.
        CACHE_L2_TIMEOUT_MS: '1000',
      });
      // The command connection as the app opens it (libs/redis): writes batched per tick, and a timer
      // per command for REDIS_COMMAND_TIMEOUT_MS.
      const redis = openRedis({ kind: 'standalone', url: redisUrl }, 'bench-api', { commandTimeout: config.redisCommandTimeoutMs });
      // It queues no command while it connects, as in the app, which waits for it the same way.
      await new Promise((resolve) => redis.once('ready', resolve));
      const namespace = { name: 'bench-api', ttl: TTL_MS, description: 'benchmark: programmatic API' } as const;
      const cache = new CacheRegistry(config, redis).namespace(defineCacheNamespace(namespace));
      const reader = new CacheRegistry(config, redis).namespace(defineCacheNamespace({ ...namespace, maxEntries: 1 }));
      return {
        get: (key) => cache.get(key),
        set: (key, value) => cache.set(key, value),
        wrap: (key, loader) => cache.wrap(key, loader),
        getThroughL2: (key) => reader.get(key),
        close: async () => void (await redis.quit()),
      };
    },
  },
  {
    name: 'BentoCache 1.6',
    async create(redisUrl, prefix) {
      const redis = new Redis(redisUrl);
      const bento = (maxItems: number) =>
        new BentoCache({
          default: 'cache',
          prefix,
          ttl: TTL_MS,
          stores: { cache: bentostore().useL1Layer(memoryDriver({ maxItems })).useL2Layer(redisDriver({ connection: redis })) },
        });
      const cache = bento(10_000);
      const reader = bento(1);
      return {
        get: (key) => cache.get({ key }),
        set: (key, value) => cache.set({ key, value }),
        wrap: (key, loader) => cache.getOrSet({ key, factory: loader }),
        getThroughL2: (key) => reader.get({ key }),
        close: async () => {
          await cache.disconnectAll();
          await reader.disconnectAll().catch(() => undefined);
        },
      };
    },
  },
  {
    name: 'cache-manager 7 + @keyv/redis',
    async create(redisUrl, prefix) {
      const redisStore = () => new Keyv({ store: new KeyvRedis(redisUrl), namespace: prefix });
      const memoryStore = (lruSize: number) => new Keyv({ store: new KeyvCacheableMemory({ lruSize }), namespace: prefix });
      const cache = createCache({ stores: [memoryStore(10_000), redisStore()], ttl: TTL_MS });
      const reader = createCache({ stores: [memoryStore(1), redisStore()], ttl: TTL_MS });
      return {
        get: (key) => cache.get(key),
        set: (key, value) => cache.set(key, value),
        wrap: (key, loader) => cache.wrap(key, loader),
        getThroughL2: (key) => reader.get(key),
        close: async () => {
          await cache.disconnect();
          await reader.disconnect();
        },
      };
    },
  },
  {
    name: 'cacheable 2.5 (useClone: false)',
    async create(redisUrl, prefix) {
      const cacheable = (lruSize: number) =>
        new Cacheable({
          primary: new Keyv({ store: new KeyvCacheableMemory({ lruSize, useClone: false }) }),
          secondary: new Keyv({ store: new KeyvRedis(redisUrl), namespace: prefix }),
          ttl: TTL_MS,
        });
      const cache = cacheable(10_000);
      const reader = cacheable(1);
      return {
        get: (key) => cache.get(key),
        set: (key, value) => cache.set(key, value),
        wrap: (key, loader) => cache.getOrSet(key, loader),
        getThroughL2: (key) => reader.get(key),
        close: async () => {
          await cache.disconnect();
          await reader.disconnect();
        },
      };
    },
  },
];

export const OPERATIONS = ['get L1 hit', 'get L2 hit', 'set', `wrap, ${WRAP_CALLERS} callers × ${WRAP_KEYS} keys`] as const;

/**
 * Answers that were not the stored value (a read that missed: a timeout, an open breaker), over the
 * whole run of this process, which holds one library.
 */
export const wrongAnswers = { count: 0 };

interface Rate {
  perSecond: number;
  /** This process's CPU time (user + system) per correct answer, µs: moves less than the rate with other work on the machine. */
  cpuMicros: number;
}

/**
 * Correct answers per second of `operation(i)` run by CONCURRENCY workers for OPERATION_MS, and the
 * process's CPU time per answer. A wrong answer is not counted as an operation but tallied in
 * {@link wrongAnswers}, so a read that gives up early cannot look fast.
 */
async function opsPerSecond(
  operation: (index: number) => Promise<unknown>,
  check: (result: unknown) => boolean,
): Promise<Rate> {
  let done = 0;
  let failed = 0;
  const deadline = performance.now() + OPERATION_MS;
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        if (!check(await operation(done))) failed += 1;
        done += 1;
      }
    }),
  );
  const cpu = process.cpuUsage(cpuBefore);
  wrongAnswers.count += failed;
  return { perSecond: (done - failed) / ((performance.now() - started) / 1000), cpuMicros: (cpu.user + cpu.system) / Math.max(1, done - failed) };
}

const isPayload = (value: unknown) => (value as typeof BENCH_PAYLOAD | undefined)?.settings?.length === BENCH_PAYLOAD.settings.length;

/** 100 callers on each of 100 cold keys at once: calls per second and loader calls. */
async function wrapBurst(cache: CacheUnderTest, batch: string): Promise<{ perSecond: number; loaderCalls: number }> {
  let loaderCalls = 0;
  const loader = async () => {
    loaderCalls += 1;
    await new Promise((resolve) => setImmediate(resolve));
    return BENCH_PAYLOAD;
  };
  const started = performance.now();
  const results = await Promise.all(
    Array.from({ length: WRAP_CALLERS * WRAP_KEYS }, (_, index) => cache.wrap(`wrap-${batch}-${index % WRAP_KEYS}`, loader)),
  );
  const elapsed = performance.now() - started;
  if (!results.every(isPayload)) throw new Error('wrap returned a wrong value');
  return { perSecond: results.length / (elapsed / 1000), loaderCalls };
}

/** Operations whose CPU time per operation is reported too (the wrap burst is one batch, not a steady rate). */
export const CPU_OPERATIONS = ['get L1 hit', 'get L2 hit', 'set'] as const;
export const cpuKey = (operation: string) => `${operation} CPU`;

/** One operation measured on one library: its keys in the record, as the tables name them. */
export const MEASUREMENTS: ((cache: CacheUnderTest, round: number) => Promise<Record<string, number>>)[] = [
  async (cache) => {
    const l1 = await opsPerSecond(() => cache.get('hot'), isPayload);
    return { 'get L1 hit': l1.perSecond, [cpuKey('get L1 hit')]: l1.cpuMicros };
  },
  async (cache) => {
    const l2 = await opsPerSecond((index) => cache.getThroughL2(`l2-${index % L2_KEYS}`), isPayload);
    return { 'get L2 hit': l2.perSecond, [cpuKey('get L2 hit')]: l2.cpuMicros };
  },
  async (cache, round) => {
    const set = await opsPerSecond((index) => cache.set(`set-${round}-${index % L2_KEYS}`, BENCH_PAYLOAD), () => true);
    return { set: set.perSecond, [cpuKey('set')]: set.cpuMicros };
  },
  async (cache, round) => {
    const wrap = await wrapBurst(cache, String(round));
    return { [`wrap, ${WRAP_CALLERS} callers × ${WRAP_KEYS} keys`]: wrap.perSecond, wrapLoaderCalls: wrap.loaderCalls };
  },
];

/** What every library holds before the first round: the L1-hit key and the keys the L2 reads go round. */
export async function prepare(cache: CacheUnderTest): Promise<void> {
  await cache.set('hot', BENCH_PAYLOAD);
  for (let index = 0; index < L2_KEYS; index += 1) await cache.set(`l2-${index}`, BENCH_PAYLOAD);
}
