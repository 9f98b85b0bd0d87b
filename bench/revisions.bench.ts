/**
 * One route of this app at two or more git revisions, side by side in one run:
 *
 *   BENCH_REVISIONS=6d16eb2b,HEAD npm run bench:revisions
 *
 * What `npm run bench` cannot say: whether a change to the request path made it cheaper by a few
 * percent. Its targets read one variant against a peer, with single rounds moving by ±10 % on these
 * machines; a change's effect is read here as the ratio of the two builds' CPU a request measured
 * next to each other, round after round (docs/benchmarks.md, "Comparing revisions"). Each revision is
 * checked out in a git worktree of its own (this checkout's node_modules linked in, its Prisma client
 * generated there) and its server started from it, as `npm run bench` starts this app's: a fresh
 * process every round, pinned to one CPU, wrk on the other, warmed up right before its measurement,
 * the revisions' order rotated. Stock Nest's trivial route runs in every round too, as the reference
 * the targets read. Prints a table, writes bench/results/revisions.json, removes the worktrees
 * and the Redis keys it wrote.
 *
 * BENCH_REVISIONS (two or more, comma-separated; the first is what the others are read against),
 * BENCH_PATH (default /bench/trivial; the revisions must all have the route), BENCH_LOG_LEVEL (warn),
 * BENCH_ROUNDS (8), BENCH_DURATION_S (3), BENCH_WARM_UP_S (2), BENCH_CONNECTIONS (50).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cpuPinning, describePinning } from './cpu-pinning';
import { benchRedis, deleteBenchKeys, runBenchmark, writeBenchResults } from './bench-support';
import { measureServer, startServer, stopServer, type Measurement, type RouteVariant } from './http-variant-processes';
import { loadGenerator } from './load-generator';
import { median, pairedRatios, rangeText } from './statistics';

const REVISIONS = (process.env.BENCH_REVISIONS ?? '')
  .split(',')
  .map((revision) => revision.trim())
  .filter(Boolean);
const ROUTE = process.env.BENCH_PATH ?? '/bench/trivial';
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'warn';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 8);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 3);
const WARM_UP_S = Number(process.env.BENCH_WARM_UP_S ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const REPOSITORY = path.resolve(__dirname, '..');
const STOCK = 'stock Nest, trivial route';

interface Checkout {
  revision: string;
  commit: string;
  directory: string;
}

const git = (...args: string[]) => execFileSync('git', args, { cwd: REPOSITORY, encoding: 'utf8' }).trim();

/**
 * `revision` checked out in a worktree of its own, ready to run: dependencies linked, Prisma client
 * generated. The worktree goes into `created` as soon as it exists, so a failure after it is removed too.
 */
function checkOut(revision: string, under: string, created: string[]): Checkout {
  const commit = git('rev-parse', '--verify', `${revision}^{commit}`);
  const directory = path.join(under, `${created.length + 1}-${commit.slice(0, 12)}`);
  git('worktree', 'add', '--detach', directory, commit);
  created.push(directory);
  fs.symlinkSync(path.join(REPOSITORY, 'node_modules'), path.join(directory, 'node_modules'));
  execFileSync(process.execPath, [path.join(directory, 'scripts', 'prisma-generate.js')], { cwd: directory, stdio: 'ignore' });
  return { revision, commit, directory };
}

/** The revision as given, with its commit unless it was given as one. */
const label = ({ revision, commit }: Checkout) => (commit.startsWith(revision) ? commit.slice(0, 8) : `${revision} (${commit.slice(0, 8)})`);

/** The median of the rounds' ratios, to three decimals, and their range. */
function pairedRatio(numerators: number[], denominators: number[]): { median: number; range: string } {
  const spread = pairedRatios(numerators, denominators);
  return { median: Number(spread.median.toFixed(3)), range: rangeText(spread) };
}

async function main(): Promise<void> {
  if (REVISIONS.length < 2) throw new Error('BENCH_REVISIONS names two or more git revisions, comma-separated, e.g. BENCH_REVISIONS=HEAD~1,HEAD');
  if (new Set(REVISIONS).size !== REVISIONS.length) throw new Error(`BENCH_REVISIONS names a revision twice: ${REVISIONS.join(',')}`);
  const pinning = cpuPinning();
  const generator = loadGenerator(pinning?.loadCpu);
  const redis = await benchRedis();
  const keyPrefix = `bench-rev-${process.pid}`;
  const worktrees = fs.mkdtempSync(path.join(os.tmpdir(), 'jarek-va-revisions-'));
  const checkouts: Checkout[] = [];
  const created: string[] = [];
  try {
    for (const revision of REVISIONS) checkouts.push(checkOut(revision, worktrees, created));
    const variants: (RouteVariant & { checkout?: string })[] = [
      { name: STOCK, server: 'stock-nest', path: '/bench/trivial' },
      ...checkouts.map((checkout) => ({ name: label(checkout), server: 'app' as const, path: ROUTE, logLevel: LOG_LEVEL, checkout: checkout.directory })),
    ];
    const measured = new Map<string, Measurement[]>(variants.map((variant) => [variant.name, []]));
    const loads: number[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      loads.push(os.loadavg()[0]);
      for (let turn = 0; turn < variants.length; turn += 1) {
        const variant = variants[(round + turn) % variants.length];
        const server = await startServer(variant, redis.url, keyPrefix, { cpu: pinning?.serverCpu, checkout: variant.checkout });
        try {
          await generator.measure(server.baseUrl + variant.path, CONNECTIONS, WARM_UP_S);
          measured.get(variant.name)!.push(await measureServer(generator, server, variant.path, CONNECTIONS, DURATION_S));
        } finally {
          await stopServer(server);
        }
      }
      console.log(`round ${round + 1} of ${ROUNDS} done`);
    }

    const cpuMicros = (name: string) => measured.get(name)!.map((measurement) => 1e6 / measurement.requestsPerCpuSecond);
    const throughput = (name: string) => measured.get(name)!.map((measurement) => measurement.requestsPerSecond);
    const first = label(checkouts[0]);
    const rows = variants.map(({ name }) => {
      const againstFirst = pairedRatio(cpuMicros(first), cpuMicros(name));
      const againstStock = pairedRatio(cpuMicros(STOCK), cpuMicros(name));
      return {
        variant: name,
        'req/s, median': Math.round(median(throughput(name))),
        'µs CPU per req, median': Math.round(median(cpuMicros(name)) * 10) / 10,
        'µs CPU per req, rounds': `${Math.min(...cpuMicros(name)).toFixed(1)}–${Math.max(...cpuMicros(name)).toFixed(1)}`,
        [`CPU vs ${first}`]: againstFirst.median,
        [`CPU vs ${first}, rounds`]: againstFirst.range,
        'CPU vs stock Nest': againstStock.median,
        'CPU vs stock Nest, rounds': againstStock.range,
        'req/s vs stock Nest': pairedRatio(throughput(name), throughput(STOCK)).median,
      };
    });
    console.log(
      `\n${ROUTE} at LOG_LEVEL=${LOG_LEVEL}, ${ROUNDS} rounds × ${DURATION_S} s (warmed up ${WARM_UP_S} s) per variant, fresh processes every round, ` +
        `${generator.name}, ${CONNECTIONS} connections; ${describePinning(pinning)}; 1-minute load average ${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)}. ` +
        'Ratios are medians of the rounds\' ratios of CPU a request (higher: cheaper than the one it is read against).',
    );
    console.table(rows);
    const written = writeBenchResults('revisions', {
      route: ROUTE,
      logLevel: LOG_LEVEL,
      revisions: checkouts.map(({ revision, commit }) => ({ revision, commit })),
      settings: { rounds: ROUNDS, durationSeconds: DURATION_S, warmUpSeconds: WARM_UP_S, connections: CONNECTIONS, loadGenerator: generator.name, cpuPinning: pinning ?? null },
      loadAverage1m: loads,
      rows,
      rounds: Object.fromEntries(measured),
    });
    console.log(`\nWrote ${written}`);
  } finally {
    for (const directory of created) git('worktree', 'remove', '--force', directory);
    fs.rmSync(worktrees, { recursive: true, force: true });
    await deleteBenchKeys(redis.url, keyPrefix);
    await redis.server?.stop();
  }
}

runBenchmark(main);
