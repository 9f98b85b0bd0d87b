/**
 * One HTTP variant of `npm run bench` in a process of its own, so no variant shares an event loop,
 * a heap or a JIT with another:
 *
 *   node -r @swc-node/register bench/http-variant-server.ts <kind>
 *
 * Reports `{ port }` to its parent over IPC, then serves until the parent disconnects; answers a
 * `'cpu'` message with the CPU time this process has used (microseconds, user + system).
 * Environment: BENCH_REDIS_URL, BENCH_KEY_PREFIX, and for this app BENCH_LOG_LEVEL.
 */
import 'reflect-metadata';
import { BenchFixturesModule } from './bench-fixtures';
import { startBenchApp } from './bench-support';
import { startBareFastify, startStockNest } from './peer-apps';

export const SERVER_KINDS = ['bare-fastify', 'stock-nest', 'stock-nest-memory', 'stock-nest-redis', 'app'] as const;
export type ServerKind = (typeof SERVER_KINDS)[number];

async function start(kind: ServerKind, redisUrl: string, keyPrefix: string): Promise<{ port: number; close(): Promise<void> }> {
  switch (kind) {
    case 'bare-fastify':
      return startBareFastify();
    case 'stock-nest':
      return startStockNest('none', redisUrl, keyPrefix);
    case 'stock-nest-memory':
      return startStockNest('memory', redisUrl, keyPrefix);
    case 'stock-nest-redis':
      return startStockNest('redis', redisUrl, keyPrefix);
    case 'app': {
      const { app, baseUrl } = await startBenchApp(redisUrl, {
        extraModules: [BenchFixturesModule],
        env: { LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn', CACHE_KEY_PREFIX: keyPrefix, QUEUE_PREFIX: `${keyPrefix}-queue` },
      });
      return { port: Number(new URL(baseUrl).port), close: () => app.close() };
    }
  }
}

async function main(): Promise<void> {
  const kind = process.argv[2] as ServerKind;
  if (!SERVER_KINDS.includes(kind)) throw new Error(`unknown server kind "${kind}"; one of ${SERVER_KINDS.join(', ')}`);
  const server = await start(kind, process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379', process.env.BENCH_KEY_PREFIX ?? `bench-${process.pid}`);
  process.on('message', (message) => {
    if (message !== 'cpu') return;
    const { user, system } = process.cpuUsage();
    process.send?.({ cpuMicros: user + system });
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
