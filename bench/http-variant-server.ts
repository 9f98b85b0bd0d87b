/**
 * One HTTP variant of `npm run bench` in a process of its own, so no variant shares an event loop,
 * a heap or a JIT with another:
 *
 *   node -r @swc-node/register bench/http-variant-server.ts <kind>
 *
 * Reports `{ port }` to its parent over IPC, then serves until the parent disconnects; answers a
 * `'cpu'` message with the CPU time this process has used (microseconds, user + system), and a
 * `'heap'` message with the heap used after a full collection (needs `--expose-gc`) and, for this
 * app, each cache namespace's stats. bench/http-variant-processes.ts is the parent's side.
 * Environment: BENCH_REDIS_URL, BENCH_KEY_PREFIX, and for this app BENCH_LOG_LEVEL and any of its
 * configuration variables (CACHE_L1_MAX_ENTRIES, …).
 */
import 'reflect-metadata';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { CacheRegistry, type NamespaceStatsSnapshot } from '@app/cache';
import { BenchFixturesModule } from './bench-fixtures';
import { startBenchApp } from './bench-support';
import { startBareFastify, startStockNest } from './peer-apps';

export const SERVER_KINDS = ['bare-fastify', 'stock-nest', 'stock-nest-memory', 'stock-nest-redis', 'stock-nest-pino', 'app'] as const;
export type ServerKind = (typeof SERVER_KINDS)[number];

export interface HeapReport {
  /** `process.memoryUsage().heapUsed` once consecutive full collections stop freeing memory. */
  heapUsedBytes: number;
  /** Full collections run before that figure. */
  collections: number;
  /** This app's cache namespaces by name (`size` is the L1 entry count); empty for the peers. */
  cacheNamespaces: Record<string, NamespaceStatsSnapshot>;
}

interface VariantServer {
  port: number;
  close(): Promise<void>;
  cacheNamespaces?(): Record<string, NamespaceStatsSnapshot>;
}

/** A collection that frees less than this is taken as having found nothing more to free. */
const STABLE_HEAP_BYTES = 64 * 1024;
const MAX_COLLECTIONS = 10;

async function start(kind: ServerKind, redisUrl: string, keyPrefix: string): Promise<VariantServer> {
  switch (kind) {
    case 'bare-fastify':
      return startBareFastify();
    case 'stock-nest':
      return startStockNest('none', redisUrl, keyPrefix);
    case 'stock-nest-memory':
      return startStockNest('memory', redisUrl, keyPrefix);
    case 'stock-nest-redis':
      return startStockNest('redis', redisUrl, keyPrefix);
    case 'stock-nest-pino':
      return startStockNest('pino', redisUrl, keyPrefix);
    case 'app': {
      const { app, baseUrl } = await startBenchApp(redisUrl, {
        extraModules: [BenchFixturesModule],
        env: { LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn', CACHE_KEY_PREFIX: keyPrefix, QUEUE_PREFIX: `${keyPrefix}-queue` },
      });
      const registry = app.get(CacheRegistry);
      return { port: Number(new URL(baseUrl).port), close: () => app.close(), cacheNamespaces: () => registry.overview().namespaces };
    }
  }
}

/**
 * Collects until a collection frees less than {@link STABLE_HEAP_BYTES} (at least twice: objects
 * whose finalizers or weak callbacks run after the first one go in the second), then reads the heap.
 */
async function heapAfterFullCollection(server: VariantServer): Promise<HeapReport> {
  const collect = global.gc;
  if (!collect) throw new Error('the heap is measured after a full collection: start this process with --expose-gc');
  let previous = Number.POSITIVE_INFINITY;
  let collections = 0;
  for (;;) {
    collect();
    collections += 1;
    // Lets the callbacks a collection queued run before the next collection or the reading.
    await nextTurn();
    const used = process.memoryUsage().heapUsed;
    if ((collections >= 2 && previous - used < STABLE_HEAP_BYTES) || collections === MAX_COLLECTIONS) {
      return { heapUsedBytes: used, collections, cacheNamespaces: server.cacheNamespaces?.() ?? {} };
    }
    previous = used;
  }
}

async function main(): Promise<void> {
  const kind = process.argv[2] as ServerKind;
  if (!SERVER_KINDS.includes(kind)) throw new Error(`unknown server kind "${kind}"; one of ${SERVER_KINDS.join(', ')}`);
  const server = await start(kind, process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379', process.env.BENCH_KEY_PREFIX ?? `bench-${process.pid}`);
  process.on('message', (message) => {
    if (message === 'cpu') {
      const { user, system } = process.cpuUsage();
      process.send?.({ cpuMicros: user + system });
    } else if (message === 'heap') {
      heapAfterFullCollection(server).then(
        (heap) => process.send?.({ heap }),
        (error: Error) => process.send?.({ heapError: error.message }),
      );
    }
  });
  process.once('disconnect', () => {
    void server.close().finally(() => process.exit(0));
  });
  process.send?.({ port: server.port });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
