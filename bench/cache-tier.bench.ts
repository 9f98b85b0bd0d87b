/**
 * The cache tier's own benchmark: serializer candidates for L2, then this project's NamespaceCache
 * against BentoCache on one Redis, in one process, rounds rotated, best of each.
 *
 *   node -r @swc-node/register bench/cache-tier.bench.ts   (a Redis at REDIS_URL / 127.0.0.1:6379, or redis-server on PATH)
 *
 * Prints two tables of ratios and writes bench/results/cache-tier.json. A table of entry formats
 * (the tier's codec against JSON) by value shape says whether a JSON entry would read or write faster. The "today's encoding"
 * row hands `cache-manager-ioredis-yet` the entry object, as the tier did before its codec: telejson
 * then walks the whole value on every write and read. The "at <commit>" rows run the cache library
 * of earlier commits (`BENCH_TIER_BEFORE`, comma-separated; by default the last commit before the
 * codec, which the issue on L2 speed measured, and the last before an L2 hit became one GET), read
 * from git history into a git-ignored folder under bench/results, each writing its own entries.
 * Each row also reports this process's CPU time per operation.
 */
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { redisDriver } from 'bentocache/drivers/redis';
import { redisInsStore } from 'cache-manager-ioredis-yet';
import { loadConfig } from '@app/config';
import { CacheRegistry, defineCacheNamespace, type NamespaceCache } from '@app/cache';
import type { CacheKeyBuilder } from '@app/cache/key-builder';
import type { ResolvedNamespace } from '@app/cache/namespace-cache';
import type { RedisTier, RedisTierOptions } from '@app/cache/redis-tier';
import { decodeEntry, encodeEntry } from '@app/cache/entry-codec';
import { isCacheEntry } from '@app/cache/cache-entry';
import { benchRedis, runBenchmark, writeBenchResults } from './bench-support';
import { ENTRY_FORMATS, entryValueShapes, SERIALIZER_CANDIDATES, sampleValue } from './serializer-candidates';
import { removeRedisKeys } from '../test/support/redis-keys';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 1_500);
/** Operations in flight at once: enough to keep the client CPU-bound rather than round-trip-bound. */
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
/** Keys read in turn; with one L1 entry, a read finds its key in L1 only if the read before it was of the same key. */
const KEYS = 1_000;

/** Earlier versions of the cache library to measure next to this one. */
const BEFORE_REFS = (process.env.BENCH_TIER_BEFORE ?? 'c890166^,800f7e2').split(',').filter(Boolean);

interface CacheLibraryModules {
  namespace: { NamespaceCache: new (settings: ResolvedNamespace, keys: CacheKeyBuilder, l2: RedisTier, notify: () => Promise<void>) => NamespaceCache };
  tier: { RedisTier: new (client: Redis, keys: CacheKeyBuilder, options: RedisTierOptions) => RedisTier };
  keys: { CacheKeyBuilder: new (prefix: string, schemaVersion: string) => CacheKeyBuilder };
}

/** Writes `libs/cache/src` as of `ref` under bench/results (git-ignored, so node_modules and path aliases resolve) and loads it. */
function loadCacheLibraryAt(ref: string, into: string): CacheLibraryModules {
  const files = execFileSync('git', ['ls-tree', '-r', '--name-only', ref, 'libs/cache/src'], { encoding: 'utf8' }).split('\n').filter((file) => file.endsWith('.ts'));
  for (const file of files) {
    const target = path.join(into, path.relative('libs/cache/src', file));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, execFileSync('git', ['show', `${ref}:${file}`], { encoding: 'utf8' }));
  }
  /* eslint-disable @typescript-eslint/no-require-imports -- files written at run time, loaded through the swc register hook, which import() would bypass */
  return {
    namespace: require(path.join(into, 'namespace-cache.ts')) as CacheLibraryModules['namespace'],
    tier: require(path.join(into, 'redis-tier.ts')) as CacheLibraryModules['tier'],
    keys: require(path.join(into, 'key-builder.ts')) as CacheLibraryModules['keys'],
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
}

/** A reader (L1 of one entry) and a writer of namespace `tier` built from the library of `ref`, with a key prefix of its own. */
function namespaceAt(ref: string, folder: string, redis: Redis, prefix: string): { reader: NamespaceCache; writer: NamespaceCache } {
  const modules = loadCacheLibraryAt(ref, folder);
  const keys = new modules.keys.CacheKeyBuilder(prefix, '1');
  const tier = new modules.tier.RedisTier(redis, keys, { timeoutMs: 2_000, writeTimeoutMs: 2_000, breakerFailures: 5, breakerCooldownMs: 5_000 });
  const definition = defineCacheNamespace({ name: 'tier', ttl: '10m', description: 'benchmark' });
  const settings = (maxEntries: number): ResolvedNamespace => ({ definition, ttlMs: 600_000, l1TtlMs: 60_000, graceMs: 0, maxEntries });
  const notify = async () => undefined;
  return {
    reader: new modules.namespace.NamespaceCache(settings(1), keys, tier, notify),
    writer: new modules.namespace.NamespaceCache(settings(10_000), keys, tier, notify),
  };
}

/** A read that found nothing would measure a miss, not a hit: stop the benchmark instead. */
function found<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('a read in a hit benchmark missed: the numbers would be wrong');
  return value;
}

interface Rate {
  opsPerSecond: number;
  /** This process's CPU time (user + system) per operation, µs: moves less than the rate with other work on the machine. */
  cpuMicrosPerOp: number;
}

/** Operations per second of `operation`, from `CONCURRENCY` loops for `DURATION_MS`, and the CPU each cost. */
async function opsPerSecond(operation: (index: number) => Promise<unknown>): Promise<Rate> {
  let done = 0;
  const deadline = performance.now() + DURATION_MS;
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, worker) => {
      for (let index = worker; performance.now() < deadline; index += CONCURRENCY) {
        await operation(index);
        done += 1;
      }
    }),
  );
  const cpu = process.cpuUsage(cpuBefore);
  return { opsPerSecond: done / ((performance.now() - started) / 1_000), cpuMicrosPerOp: (cpu.user + cpu.system) / done };
}

function syncOpsPerSecond(operation: () => unknown): number {
  let done = 0;
  const started = performance.now();
  const deadline = started + DURATION_MS / 2;
  while (performance.now() < deadline) {
    for (let i = 0; i < 200; i += 1) operation();
    done += 200;
  }
  return done / ((performance.now() - started) / 1_000);
}

/** Runs every variant once per round, in a rotated order, and keeps each variant's best rate and least CPU per operation. */
async function bestOf(variants: Record<string, () => Promise<Rate>>): Promise<Record<string, Rate>> {
  const names = Object.keys(variants);
  const best: Record<string, Rate> = Object.fromEntries(names.map((name) => [name, { opsPerSecond: 0, cpuMicrosPerOp: Infinity }]));
  for (let round = 0; round < ROUNDS; round += 1) {
    for (let i = 0; i < names.length; i += 1) {
      const name = names[(i + round) % names.length];
      const measured = await variants[name]();
      best[name] = {
        opsPerSecond: Math.max(best[name].opsPerSecond, measured.opsPerSecond),
        cpuMicrosPerOp: Math.min(best[name].cpuMicrosPerOp, measured.cpuMicrosPerOp),
      };
    }
  }
  return best;
}

function serializerTable(): Record<string, { bytes: number; encodePerSecond: number; decodePerSecond: number; keepsTypes: boolean }> {
  const value = sampleValue();
  const results: ReturnType<typeof serializerTable> = {};
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const candidate of SERIALIZER_CANDIDATES) {
      const encoded = candidate.encode(value);
      const encodePerSecond = syncOpsPerSecond(() => candidate.encode(value));
      const decodePerSecond = syncOpsPerSecond(() => candidate.decode(encoded));
      const previous = results[candidate.name];
      results[candidate.name] = {
        bytes: encoded.length,
        encodePerSecond: Math.max(previous?.encodePerSecond ?? 0, encodePerSecond),
        decodePerSecond: Math.max(previous?.decodePerSecond ?? 0, decodePerSecond),
        keepsTypes: candidate.keepsTypes,
      };
    }
  }
  return results;
}

/** Encodes and decodes of a whole entry per second in each format, for each value shape; best of the rounds. */
function entryFormatTable(): Record<string, Record<string, string | number>> {
  const rows: Record<string, Record<string, string | number>> = {};
  for (const [shape, value] of Object.entries(entryValueShapes())) {
    const entry = { value, freshUntil: Date.now() + 600_000 };
    const rates = ENTRY_FORMATS.map(() => ({ encode: 0, decode: 0 }));
    for (let round = 0; round < ROUNDS; round += 1) {
      ENTRY_FORMATS.forEach((format, index) => {
        const stored = format.encode(entry);
        rates[index].encode = Math.max(rates[index].encode, syncOpsPerSecond(() => format.encode(entry)));
        rates[index].decode = Math.max(rates[index].decode, syncOpsPerSecond(() => format.decode(stored)));
      });
    }
    ENTRY_FORMATS.forEach((format, index) => {
      rows[`${shape} · ${format.name}`] = {
        bytes: format.encode(entry).length,
        'decode/s': Math.round(rates[index].decode),
        'encode/s': Math.round(rates[index].encode),
        'decode vs codec': +(rates[index].decode / rates[0].decode).toFixed(2),
        'encode vs codec': +(rates[index].encode / rates[0].encode).toFixed(2),
      };
    });
  }
  return rows;
}

async function main(): Promise<void> {
  const serializers = serializerTable();
  const base = serializers.JSON;
  console.log('\nL2 serializer candidates (~1.1 KB object with dates), best of', ROUNDS);
  console.table(
    Object.fromEntries(
      Object.entries(serializers).map(([name, result]) => [
        name,
        {
          bytes: result.bytes,
          'encode/s': Math.round(result.encodePerSecond),
          'decode/s': Math.round(result.decodePerSecond),
          'encode vs JSON': +(result.encodePerSecond / base.encodePerSecond).toFixed(2),
          'decode vs JSON': +(result.decodePerSecond / base.decodePerSecond).toFixed(2),
          'keeps Date/Map/Set/BigInt/Buffer': result.keepsTypes,
        },
      ]),
    ),
  );

  const entryFormats = entryFormatTable();
  console.log('\nL2 entry formats by value shape (the stored string and back), best of', ROUNDS);
  console.table(entryFormats);

  const redisTarget = await benchRedis();
  const prefix = `bench-tier-${randomUUID().slice(0, 8)}`;
  const redis = new Redis(redisTarget.url);
  // A generous L2 budget: on a loaded machine the default 50 ms would open the breaker and turn reads into misses.
  const config = loadConfig({ ...process.env, NODE_ENV: 'test', REDIS_URL: redisTarget.url, CACHE_KEY_PREFIX: prefix, CACHE_L2_TIMEOUT_MS: '2000' });
  const writer = new CacheRegistry(config, redis);
  const reader = new CacheRegistry(config, redis);
  const namespace = defineCacheNamespace({ name: 'tier', ttl: '10m', description: 'benchmark' });
  // One L1 entry while reading KEYS keys in turn: every read misses L1 and hits Redis.
  const l2Only = defineCacheNamespace({ name: 'tier', ttl: '10m', maxEntries: 1, description: 'benchmark, L1 of one entry' });
  const ours = writer.namespace(namespace);
  const oursL2 = reader.namespace(l2Only);
  const store = redisInsStore(redis) as unknown as { get(key: string): Promise<unknown>; set(key: string, value: unknown, ttl: number): Promise<void> };
  const bento = new BentoCache({
    default: 'tiered',
    prefix,
    stores: {
      tiered: bentostore().useL1Layer(memoryDriver({ maxItems: 10_000 })).useL2Layer(redisDriver({ connection: redis })),
      l2: bentostore().useL2Layer(redisDriver({ connection: redis })),
    },
  });
  const bentoL2 = bento.use('l2');
  const value = sampleValue();
  const key = (index: number) => `k${index % KEYS}`;
  const resultsDir = path.join(__dirname, 'results');
  fs.mkdirSync(resultsDir, { recursive: true });
  const before = BEFORE_REFS.map((ref) => {
    const commit = execFileSync('git', ['rev-parse', '--short', ref], { encoding: 'utf8' }).trim();
    const folder = fs.mkdtempSync(path.join(resultsDir, `.cache-at-${commit}-`));
    return { commit, folder, ...namespaceAt(ref, folder, redis, `${prefix}-at-${commit}`) };
  });
  try {
    for (let index = 0; index < KEYS; index += 1) {
      await Promise.all([
        ours.set(key(index), value),
        bento.set({ key: key(index), value, ttl: '10m' }),
        bentoL2.set({ key: key(index), value, ttl: '10m' }),
        store.set(`${prefix}:today:${key(index)}`, { value, freshUntil: Date.now() + 600_000 }, 600_000),
        store.set(`${prefix}:codec:${key(index)}`, encodeEntry({ value, freshUntil: Date.now() + 600_000 }), 600_000),
        ...before.map(({ writer }) => writer.set(key(index), value)),
      ]);
    }
    const earlierReads = Object.fromEntries(
      before.map(({ commit, reader }) => [
        `NamespaceCache get, L2 hit, at ${commit}`,
        () => opsPerSecond(async (index) => found(await reader.get(key(index)))),
      ]),
    );
    const results = await bestOf({
      'NamespaceCache get, L2 hit': () => opsPerSecond(async (index) => found(await oursL2.get(key(index)))),
      'BentoCache get, L2 hit': () => opsPerSecond(async (index) => found(await bentoL2.get({ key: key(index) }))),
      ...earlierReads,
      'store get, entry through telejson (today)': () =>
        opsPerSecond(async (index) => found(isCacheEntry(await store.get(`${prefix}:today:${key(index)}`)) || undefined)),
      'store get, entry through the codec': () =>
        opsPerSecond(async (index) => found(decodeEntry(await store.get(`${prefix}:codec:${key(index)}`)))),
      'NamespaceCache set': () => opsPerSecond((index) => ours.set(key(index), value)),
      'BentoCache set': () => opsPerSecond((index) => bento.set({ key: key(index), value, ttl: '10m' })),
      'store set, entry through telejson (today)': () =>
        opsPerSecond((index) => store.set(`${prefix}:today:${key(index)}`, { value, freshUntil: Date.now() + 600_000 }, 600_000)),
      'store set, entry through the codec': () =>
        opsPerSecond((index) =>
          store.set(`${prefix}:codec:${key(index)}`, encodeEntry({ value, freshUntil: Date.now() + 600_000 }), 600_000),
        ),
    });
    const reads = oursL2.snapshot();
    if (reads.l1Hits > reads.l2Hits / 100) throw new Error(`the L2-hit variant was served from L1 too often (${reads.l1Hits} of ${reads.l2Hits})`);
    const ratio = (a: string, b: string) => +(results[a].opsPerSecond / results[b].opsPerSecond).toFixed(2);
    const cpuRatio = (a: string, b: string) => +(results[b].cpuMicrosPerOp / results[a].cpuMicrosPerOp).toFixed(2);
    const ratios = {
      'L2 hit: NamespaceCache / BentoCache': ratio('NamespaceCache get, L2 hit', 'BentoCache get, L2 hit'),
      'L2 hit, CPU per op: BentoCache / NamespaceCache': cpuRatio('NamespaceCache get, L2 hit', 'BentoCache get, L2 hit'),
      ...Object.fromEntries(
        before.flatMap(({ commit }) => [
          [`L2 hit: NamespaceCache / at ${commit}`, ratio('NamespaceCache get, L2 hit', `NamespaceCache get, L2 hit, at ${commit}`)],
          [`L2 hit, CPU per op: at ${commit} / NamespaceCache`, cpuRatio('NamespaceCache get, L2 hit', `NamespaceCache get, L2 hit, at ${commit}`)],
        ]),
      ),
      'L2 read: codec / today (telejson)': ratio('store get, entry through the codec', 'store get, entry through telejson (today)'),
      'set: NamespaceCache / BentoCache': ratio('NamespaceCache set', 'BentoCache set'),
      'set, CPU per op: BentoCache / NamespaceCache': cpuRatio('NamespaceCache set', 'BentoCache set'),
      'set: codec / today (telejson)': ratio('store set, entry through the codec', 'store set, entry through telejson (today)'),
    };
    console.log(`\nRedis tier, ${CONCURRENCY} operations in flight, best of ${ROUNDS}; load average ${os.loadavg()[0].toFixed(2)}`);
    console.table(
      Object.fromEntries(
        Object.entries(results).map(([name, rate]) => [
          name,
          { 'ops/s': Math.round(rate.opsPerSecond), 'CPU µs per op (this process)': +rate.cpuMicrosPerOp.toFixed(2) },
        ]),
      ),
    );
    console.table(ratios);
    const file = writeBenchResults('cache-tier', {
      loadAverage1m: os.loadavg()[0],
      before: before.map(({ commit }) => commit),
      concurrency: CONCURRENCY,
      serializers,
      entryFormats,
      opsPerSecond: results,
      ratios,
    });
    console.log(`results: ${file}`);
  } finally {
    for (const { folder } of before) fs.rmSync(folder, { recursive: true, force: true });
    await bento.disconnectAll().catch(() => undefined);
    await removeRedisKeys(redisTarget.url, prefix);
    await redis.quit().catch(() => undefined);
    await redisTarget.server?.stop();
  }
}

runBenchmark(main);
