/**
 * Health routes benchmark: latency of liveness, readiness and the full report under light load.
 *
 *   npm run bench:health     (needs redis-server on PATH or a Redis at REDIS_URL / 127.0.0.1:6379)
 *
 * Boots the real app in production mode with Redis configured, so readiness really pings Redis,
 * round-trips the cache through it and reads the SQLite file. Prints p50/p90/p99/max per route and
 * connection count, checks the budget (p99 < 10 ms when healthy) and writes
 * bench/results/health.json.
 */
import 'reflect-metadata';
import { benchRedis, runBenchmark, startBenchApp, writeBenchResults } from './bench-support';
import { latencyColumns, measureLatency, type LatencySummary } from './latency-client';

const REQUESTS = Number(process.env.BENCH_HEALTH_REQUESTS ?? 2_000);
const WARMUP_REQUESTS = 200;
/** Light load: one prober at a time, then a few at once (several probes and monitors together). */
const CONNECTION_LEVELS = [1, 4];
const ROUTES = ['/health/live', '/health/ready', '/health'] as const;
const P99_BUDGET_MS = 10;

async function main(): Promise<void> {
  const redis = await benchRedis();
  const { app, baseUrl } = await startBenchApp(redis.url);
  try {
    for (const route of ROUTES) await measureLatency(baseUrl + route, WARMUP_REQUESTS, 1);
    const rows: ({ route: string } & LatencySummary)[] = [];
    for (const connections of CONNECTION_LEVELS) {
      for (const route of ROUTES) rows.push({ route, ...(await measureLatency(baseUrl + route, REQUESTS, connections)) });
    }

    console.log(`\nHealth routes, ${REQUESTS} requests per row, Redis configured and healthy`);
    console.table(
      rows.map((row) => ({
        route: row.route,
        ...latencyColumns(row),
      })),
    );
    const worst = rows.reduce((slowest, row) => (row.p99Ms > slowest.p99Ms ? row : slowest));
    const met = worst.p99Ms < P99_BUDGET_MS && rows.every((row) => row.errors === 0);
    console.log(
      `\nTarget: p99 < ${P99_BUDGET_MS} ms on every route, no errors → worst p99 ${worst.p99Ms} ms ` +
        `(${worst.route}, ${worst.connections} connection(s)) (${met ? 'met' : 'NOT met'})`,
    );
    const written = writeBenchResults('health', {
      settings: { requestsPerRow: REQUESTS, warmupRequests: WARMUP_REQUESTS, connectionLevels: CONNECTION_LEVELS },
      targetP99Ms: P99_BUDGET_MS,
      targetMet: met,
      latency: rows,
    });
    console.log(`\nWrote ${written}`);
  } finally {
    await app.close();
    await redis.server?.stop();
  }
}

runBenchmark(main);
