/**
 * Instructions per request, counted by valgrind's callgrind, for the four route targets of
 * `npm run bench`:
 *
 *   npm run bench:instructions     (needs valgrind: apt-get install valgrind; about 25 minutes)
 *
 * Throughput and CPU time on a shared 2-core machine move by ±20 % with whatever else runs; the
 * number of instructions a server executes per request moves far less, so this is the measure to
 * settle a ratio near its bound. Each variant's server (bench/http-variant-server.ts) runs under
 * callgrind with instrumentation off while it boots and warms up (`BENCH_INSTR_WARM_UP`, 60 000
 * requests: after 20 000, TurboFan was still compiling the early-hit route's code, a third of its
 * count), then on for `BENCH_INSTR_REQUESTS` (10 000) requests from autocannon (10 connections) in
 * this process. The count covers everything the process runs meanwhile — V8's compiler and collector included; Node
 * runs `--single-threaded` so that compilation is counted the same way in every run. The count still
 * moves by 1–3 % from run to run (what V8 compiles, and when, depends on timing), and more when other
 * work slows the server (its timers then fire more often per request): run it on a quiet machine,
 * twice. Writes bench/results/instructions.json.
 */
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import autocannon from 'autocannon';
import { benchRedis, deleteBenchKeys, runBenchmark, writeBenchResults } from './bench-support';
import { startServer, stopServer, type RouteVariant } from './http-variant-processes';

const WARM_UP_REQUESTS = Number(process.env.BENCH_INSTR_WARM_UP ?? 60_000);
const MEASURED_REQUESTS = Number(process.env.BENCH_INSTR_REQUESTS ?? 10_000);
const CONNECTIONS = 10;

/** Each target of `npm run bench` as its variant and its peer. */
const PAIRS: { target: string; variant: RouteVariant; peer: RouteVariant; bound: number }[] = [
  {
    target: 'trivial route ≥ 0.9× stock Nest trivial',
    variant: { name: 'this app, trivial route', server: 'app', path: '/bench/trivial' },
    peer: { name: 'stock Nest, trivial route', server: 'stock-nest', path: '/bench/trivial' },
    bound: 0.9,
  },
  {
    target: 'trivial route, access line written (info) ≥ 0.9× stock Nest trivial',
    variant: { name: 'this app, trivial route, access log on (info)', server: 'app', path: '/bench/trivial', logLevel: 'info' },
    peer: { name: 'stock Nest, trivial route', server: 'stock-nest', path: '/bench/trivial' },
    bound: 0.9,
  },
  {
    target: 'L1 hit (interceptor) ≥ 1.5× stock CacheInterceptor, memory',
    variant: { name: 'this app, L1 hit, interceptor', server: 'app', path: '/bench/ours' },
    peer: { name: 'stock Nest + CacheInterceptor, in-memory Keyv', server: 'stock-nest-memory', path: '/bench/cached' },
    bound: 1.5,
  },
  {
    target: 'L1 hit (earlyHits) ≥ 0.6× bare Fastify',
    variant: { name: 'this app, L1 hit, earlyHits', server: 'app', path: '/bench/ours-early' },
    peer: { name: 'bare Fastify, Buffer', server: 'bare-fastify', path: '/bench/trivial' },
    bound: 0.6,
  },
];

function valgrindOnPath(): boolean {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Boots the variant under callgrind, warms it up, counts the instructions of the measured requests. */
async function instructionsPerRequest(variant: RouteVariant, redisUrl: string, keyPrefix: string): Promise<number> {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-callgrind-'));
  const outFile = path.join(outDir, 'callgrind.out');
  const server = await startServer(variant, redisUrl, keyPrefix, {
    launcher: ['valgrind', '-q', '--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${outFile}`],
    nodeFlags: ['--single-threaded'],
  });
  try {
    const url = server.baseUrl + variant.path;
    const warm = await autocannon({ url, connections: CONNECTIONS, amount: WARM_UP_REQUESTS });
    if (warm.non2xx > 0) throw new Error(`${variant.name}: ${warm.non2xx} answers other than 2xx while warming up`);
    const pid = String(server.child.pid);
    execFileSync('callgrind_control', ['--instr=on', pid], { stdio: 'ignore' });
    const measured = await autocannon({ url, connections: CONNECTIONS, amount: MEASURED_REQUESTS });
    execFileSync('callgrind_control', ['--dump', pid], { stdio: 'ignore' });
    if (measured.non2xx > 0 || measured.errors > 0) throw new Error(`${variant.name}: ${measured.non2xx + measured.errors} failed requests`);
    // The dump taken on request is the file's first part; the profile of the boot is never collected.
    const dump = fs.readFileSync(`${outFile}.1`, 'utf8');
    const total = /^(?:summary|totals):\s+(\d+)/m.exec(dump);
    if (!total) throw new Error(`${variant.name}: no instruction total in the callgrind dump`);
    return Number(total[1]) / MEASURED_REQUESTS;
  } finally {
    await stopServer(server);
    fs.rmSync(outDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (!valgrindOnPath()) throw new Error('valgrind is not installed (apt-get install valgrind)');
  const redis = await benchRedis();
  const keyPrefix = `bench-instr-${process.pid}`;
  const counted = new Map<string, number>();
  try {
    for (const { variant, peer } of PAIRS) {
      for (const measured of [peer, variant]) {
        if (counted.has(measured.name)) continue;
        counted.set(measured.name, await instructionsPerRequest(measured, redis.url, `${keyPrefix}-${counted.size}`));
        console.log(`${measured.name}: ${Math.round(counted.get(measured.name)!)} instructions per request`);
      }
    }
  } finally {
    await deleteBenchKeys(redis.url, keyPrefix);
    await redis.server?.stop();
  }
  const rows = [...counted].map(([variant, instructions]) => ({ variant, 'instructions per request': Math.round(instructions) }));
  // Fewer instructions is faster: a variant's multiple of its peer is the peer's count over its own.
  const targets = PAIRS.map(({ target, variant, peer, bound }) => {
    const ratio = Number((counted.get(peer.name)! / counted.get(variant.name)!).toFixed(2));
    return { target, 'ratio by instructions': ratio, met: ratio >= bound ? 'met' : 'NOT met' };
  });
  console.log(`\nInstructions per request under callgrind, ${MEASURED_REQUESTS} requests after ${WARM_UP_REQUESTS} to warm up`);
  console.table(rows);
  console.log('\nTargets: the peer\'s instructions per request over the variant\'s');
  console.table(targets);
  console.log(`\nWrote ${writeBenchResults('instructions', { settings: { warmUpRequests: WARM_UP_REQUESTS, measuredRequests: MEASURED_REQUESTS, connections: CONNECTIONS }, rows, targets })}`);
}

runBenchmark(main);
