/**
 * Invalidation propagation benchmark: two app instances in one process sharing one Redis.
 *
 *   npm run bench:invalidation   (needs redis-server on PATH or a Redis at REDIS_URL / 127.0.0.1:6379)
 *
 * For 1 000 events each, measures the time from an instance's publish to the other instance's L1
 * drop, and from the start of a write's invalidation on A (L1, L2 UNLINK, PUBLISH) to B's drop,
 * next to a plain Redis PING round trip for scale; and from that invalidation returning on A to B's
 * drop: the window in which B can still answer the old value. Writes bench/results/invalidation.json.
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { CacheRegistry, defineCacheNamespace, type NamespaceCache } from '@app/cache';
import { CacheInvalidationService, INVALIDATION_EVENT_VERSION } from '@app/cache-invalidation';
import { benchRedis, runBenchmark, startBenchApp, writeBenchResults } from './bench-support';
import { percentile } from './statistics';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000);
const TARGET_P99_MS = 10;
const BENCH_NAMESPACE = defineCacheNamespace({ name: 'bench-invalidation', ttl: '10m', l1Ttl: '10m', description: 'benchmark' });

interface Instance {
  app: NestFastifyApplication;
  cache: NamespaceCache;
  bus: CacheInvalidationService;
}

async function startInstance(redisUrl: string, prefix: string, channel: string): Promise<Instance> {
  const { app } = await startBenchApp(redisUrl, { env: { CACHE_KEY_PREFIX: prefix, CACHE_INVALIDATION_CHANNEL: channel } });
  return { app, cache: app.get(CacheRegistry).namespace(BENCH_NAMESPACE), bus: app.get(CacheInvalidationService) };
}

/** Resolves with the time B applied the next event. */
function nextApplied(instance: Instance): Promise<number> {
  return new Promise((resolve) => {
    const stop = instance.bus.onApplied(() => {
      stop();
      resolve(performance.now());
    });
  });
}

function summarise(name: string, samples: number[], baselineP50?: number) {
  const sorted = [...samples].sort((a, b) => a - b);
  const p50 = percentile(sorted, 0.5);
  return {
    variant: name,
    events: samples.length,
    'p50 ms': p50,
    'p99 ms': percentile(sorted, 0.99),
    'max ms': percentile(sorted, 1),
    'p50 vs PING': baselineP50 ? Number((p50 / baselineP50).toFixed(2)) : 1,
  };
}

async function main(): Promise<void> {
  const redis = await benchRedis();
  const prefix = `bench-${randomUUID().slice(0, 8)}`;
  const channel = `cache:invalidation:${prefix}`;
  const a = await startInstance(redis.url, prefix, channel);
  const b = await startInstance(redis.url, prefix, channel);
  const raw = new Redis(redis.url);
  try {
    const ping: number[] = [];
    for (let i = 0; i < EVENTS; i += 1) {
      const started = performance.now();
      await raw.ping();
      ping.push(performance.now() - started);
    }

    const publishToDrop: number[] = [];
    for (let i = 0; i < EVENTS; i += 1) {
      await b.cache.set(['entry', i], i);
      const applied = nextApplied(b);
      const started = performance.now();
      await raw.publish(
        channel,
        JSON.stringify({
          v: INVALIDATION_EVENT_VERSION,
          id: randomUUID(),
          origin: 'bench-publisher',
          app: prefix,
          sentAt: Date.now(),
          targets: [{ namespace: BENCH_NAMESPACE.name, keys: [`entry:${i}`] }],
        }),
      );
      publishToDrop.push((await applied) - started);
      if (b.cache.peek(['entry', i]) !== undefined) throw new Error(`B still holds entry:${i} after the event`);
    }

    const writeToDrop: number[] = [];
    // From A's write returning to B's drop: negative when B had dropped its copy before.
    const returnToDrop: number[] = [];
    for (let i = 0; i < EVENTS; i += 1) {
      await b.cache.set(['written', i], i);
      const applied = nextApplied(b);
      const started = performance.now();
      await a.cache.delete(['written', i]);
      const returned = performance.now();
      const droppedAt = await applied;
      writeToDrop.push(droppedAt - started);
      returnToDrop.push(droppedAt - returned);
      if (b.cache.peek(['written', i]) !== undefined) throw new Error(`B still holds written:${i} after A's write`);
    }

    const baseline = percentile([...ping].sort((x, y) => x - y), 0.5);
    const rows = [
      summarise('Redis PING round trip (scale)', ping),
      summarise('publish → B drops L1', publishToDrop, baseline),
      summarise("A's invalidation (L1 + UNLINK + PUBLISH) → B drops L1", writeToDrop, baseline),
      summarise("A's invalidation returns → B drops L1", returnToDrop, baseline),
    ];
    console.log(`\nInvalidation propagation, ${EVENTS} sequential events, two instances on one Redis`);
    console.table(rows);
    const p99 = rows[1]['p99 ms'];
    console.log(`\nTarget: publish → drop p99 < ${TARGET_P99_MS} ms → ${p99} ms (${p99 < TARGET_P99_MS ? 'met' : 'NOT met'})`);
    const heldOnReturn = returnToDrop.filter((ms) => ms > 0).length;
    console.log(`\nB still held its copy when A's invalidation returned in ${heldOnReturn} of ${EVENTS} events (last row: how much longer)`);
    console.log(`\nWrote ${writeBenchResults('invalidation', { settings: { events: EVENTS }, propagation: rows, heldOnReturn })}`);
  } finally {
    await raw.quit();
    await Promise.all([a.app.close(), b.app.close()]);
    await redis.server?.stop();
  }
}

runBenchmark(main);
