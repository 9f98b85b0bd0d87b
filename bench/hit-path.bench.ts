/**
 * What this app's cache adds to a route, measured inside one server process:
 *
 *   npm run bench:hit-path       (needs wrk or autocannon, and redis-server on PATH or a Redis at REDIS_URL / 127.0.0.1:6379)
 *
 * `npm run bench` compares separate processes, and two processes of the same code read 10–20 % apart for as
 * long as they live (docs/benchmarks.md, "How a target is read"), which hides a change of a few percent in
 * the cache's own work. Here one app process (bench/http-variant-server.ts, pinned to one CPU, the load
 * generator to another) serves every route, and the load generator alternates between a route and its
 * reference in short windows, so both share the process, its compiled code and the minute:
 * - an L1 hit through `@HttpCached`'s interceptor against a route whose interceptor answers a prepared string
 *   (bench/prepared-answer.interceptor.ts): the same request path and Nest pipeline without the cache's work —
 *   the key, the L1 read, the cache headers and the 304 hook;
 * - an L1 hit with `earlyHits` against the trivial route: a hit answered before Nest's pipeline against a
 *   handler that returns its object.
 * Each pair is measured `BENCH_HIT_ROUNDS` times (8) per process, in alternating order, in
 * `BENCH_HIT_PROCESSES` (2) fresh processes; each ratio is the median of all pairs, with their range.
 * Writes bench/results/hit-path.json.
 */
import 'reflect-metadata';
import { cpuPinning, describePinning } from './cpu-pinning';
import { benchRedis, deleteBenchKeys, runBenchmark, writeBenchResults } from './bench-support';
import { measureServer, startServer, stopServer } from './http-variant-processes';
import { loadGenerator } from './load-generator';
import { median } from './statistics';

const WINDOW_S = Number(process.env.BENCH_HIT_WINDOW_S ?? 2);
const ROUNDS = Number(process.env.BENCH_HIT_ROUNDS ?? 8);
const PROCESSES = Number(process.env.BENCH_HIT_PROCESSES ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);

interface RoutePair {
  name: string;
  route: string;
  reference: string;
}

const PAIRS: RoutePair[] = [
  { name: 'L1 hit, interceptor / prepared answer from an interceptor', route: '/bench/ours', reference: '/bench/prepared' },
  { name: 'L1 hit, earlyHits / trivial route', route: '/bench/ours-early', reference: '/bench/trivial' },
];

async function main(): Promise<void> {
  const redis = await benchRedis();
  const pinning = cpuPinning();
  const generator = loadGenerator(pinning?.loadCpu);
  const keyPrefix = `bench-hit-path-${process.pid}`;
  const ratios = new Map(PAIRS.map((pair) => [pair.name, { byRate: [] as number[], byCpu: [] as number[] }]));
  try {
    for (let index = 0; index < PROCESSES; index += 1) {
      const server = await startServer({ name: 'this app', server: 'app' }, redis.url, `${keyPrefix}-${index}`, { cpu: pinning?.serverCpu });
      try {
        const routes = PAIRS.flatMap((pair) => [pair.route, pair.reference]);
        for (const route of routes) {
          const first = await fetch(server.baseUrl + route);
          if (first.status !== 200) throw new Error(`${route} answered ${first.status}`);
        }
        // Every route warmed before any is measured, so the first pair does not measure the compiler.
        for (const route of routes) await generator.measure(server.baseUrl + route, CONNECTIONS, WINDOW_S);
        for (let round = 0; round < ROUNDS; round += 1) {
          for (const pair of PAIRS) {
            const order = round % 2 === 0 ? [pair.route, pair.reference] : [pair.reference, pair.route];
            const first = await measureServer(generator, server, order[0], CONNECTIONS, WINDOW_S);
            const second = await measureServer(generator, server, order[1], CONNECTIONS, WINDOW_S);
            const [route, reference] = round % 2 === 0 ? [first, second] : [second, first];
            ratios.get(pair.name)!.byRate.push(route.requestsPerSecond / reference.requestsPerSecond);
            ratios.get(pair.name)!.byCpu.push(route.requestsPerCpuSecond / reference.requestsPerCpuSecond);
          }
        }
      } finally {
        await stopServer(server);
      }
    }
  } finally {
    await deleteBenchKeys(redis.url, keyPrefix);
    await redis.server?.stop();
  }
  const range = (values: number[]) => `${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}`;
  const rows = PAIRS.map((pair) => {
    const { byRate, byCpu } = ratios.get(pair.name)!;
    return {
      'route / its reference, one process': pair.name,
      'req/s ratio': Number(median(byRate).toFixed(3)),
      'req/s, pairs': range(byRate),
      'req per CPU-s ratio': Number(median(byCpu).toFixed(3)),
      'req per CPU-s, pairs': range(byCpu),
    };
  });
  console.log(
    `\nOne app process, ${generator.name}, ${CONNECTIONS} connections, ${WINDOW_S} s windows, ${ROUNDS} pairs × ${PROCESSES} processes; ` +
      `${describePinning(pinning)}. Medians of the pairs' ratios:`,
  );
  console.table(rows);
  const settings = { windowSeconds: WINDOW_S, rounds: ROUNDS, processes: PROCESSES, connections: CONNECTIONS, loadGenerator: generator.name, cpuPinning: pinning ?? null };
  console.log(`\nWrote ${writeBenchResults('hit-path', { settings, rows, pairs: Object.fromEntries(ratios) })}`);
}

runBenchmark(main);
