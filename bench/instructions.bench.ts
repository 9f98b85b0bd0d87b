/**
 * Instructions per request, counted by valgrind's callgrind, for the four route targets of
 * `npm run bench`:
 *
 *   npm run bench:instructions     (needs valgrind: apt-get install valgrind; about 16 minutes)
 *
 * Throughput and CPU time on a shared 2-core machine move by ±20 % with whatever else runs; the
 * number of instructions a server executes per request moves far less, so this is the measure to
 * settle a ratio near its bound. Each variant's server (bench/http-variant-server.ts) runs under
 * callgrind with instrumentation off while it boots and warms up (`BENCH_INSTR_WARM_UP`, 60 000
 * requests: after 20 000, TurboFan was still compiling the early-hit route's code, a third of its
 * count), then on for `BENCH_INSTR_REQUESTS` (10 000) requests, all from one autocannon run (10
 * connections, kept open from the warm-up to the count's end) in this process. The count covers everything the process runs meanwhile — V8's compiler and collector included; Node
 * runs `--single-threaded` so that compilation is counted the same way in every run. The count still
 * moves by 1–3 % from run to run (what V8 compiles, and when, depends on timing), and more when other
 * work slows the server: run it on a quiet machine, twice.
 *
 * The count includes the process's idle work — this app's queue workers and invalidation heartbeat
 * run by the clock — and under callgrind 10 000 requests take 16–55 s instead of under a second, so
 * each request is charged tens of times the idle work it shares natively. So each server is also
 * counted for `BENCH_INSTR_IDLE_S` (10) seconds without requests (the median of five parts), and the
 * targets are read both on all instructions and on the request work (the count less the idle rate
 * times the window). Writes bench/results/instructions.json.
 */
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import autocannon from 'autocannon';
import { benchRedis, deleteBenchKeys, runBenchmark, writeBenchResults } from './bench-support';
import { startServer, stopServer, type RouteVariant } from './http-variant-processes';
import { median } from './statistics';

const WARM_UP_REQUESTS = Number(process.env.BENCH_INSTR_WARM_UP ?? 60_000);
const MEASURED_REQUESTS = Number(process.env.BENCH_INSTR_REQUESTS ?? 10_000);
const IDLE_SECONDS = Number(process.env.BENCH_INSTR_IDLE_S ?? 10);
/**
 * The idle seconds are counted in this many parts and the median part's rate is taken: once the
 * requests stop, V8 may collect the heap they left (its memory reducer), one large event in one part
 * that is not the idle work of the clock (one 10 s count read 24 M instructions a second, not 0.9 M).
 */
const IDLE_WINDOWS = 5;

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

interface Counted {
  /** Everything the process executed during the measured requests, per request. */
  perRequest: number;
  /** How long the measured requests took under callgrind. */
  windowSeconds: number;
  /** What the process executes per second with no requests: its timers and connections. */
  idlePerSecond: number;
}

/** The instruction total of the callgrind dump numbered `part`. */
function dumpTotal(outFile: string, part: number, name: string): number {
  const total = /^(?:summary|totals):\s+(\d+)/m.exec(fs.readFileSync(`${outFile}.${part}`, 'utf8'));
  if (!total) throw new Error(`${name}: no instruction total in callgrind dump ${part}`);
  return Number(total[1]);
}

/**
 * One autocannon run of the warm-up and the measured requests over the same connections: callgrind
 * counts from the warm-up's last answer to the measured requests' last, whose handler dumps the count
 * before autocannon closes a connection. Run 8 warmed up and measured with two autocannon runs: the
 * second's new connections, and the first's closing, took Node's connection code down paths it had
 * not been compiled for, and V8 deoptimised and recompiled it inside the counted window — up to 45 k
 * of a request's 149 k instructions were its optimising compiler's (docs/benchmarks.md, "Instructions
 * per request"). Up to {@link CONNECTIONS} requests in flight when counting starts are counted in part.
 */
function warmUpAndMeasure(url: string, pid: string, name: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let answered = 0;
    let started = 0;
    let windowSeconds = 0;
    const load = autocannon({ url, connections: CONNECTIONS, amount: WARM_UP_REQUESTS + MEASURED_REQUESTS }, (error, result) => {
      if (error) return reject(error instanceof Error ? error : new Error(String(error)));
      if (result.non2xx > 0 || result.errors > 0) return reject(new Error(`${name}: ${result.non2xx + result.errors} failed requests`));
      resolve(windowSeconds);
    });
    load.on('response', () => {
      answered += 1;
      if (answered === WARM_UP_REQUESTS) {
        execFileSync('callgrind_control', ['--instr=on', pid], { stdio: 'ignore' });
        started = performance.now();
      } else if (answered === WARM_UP_REQUESTS + MEASURED_REQUESTS) {
        execFileSync('callgrind_control', ['--dump', pid], { stdio: 'ignore' });
        windowSeconds = (performance.now() - started) / 1000;
      }
    });
  });
}

/**
 * Boots the variant under callgrind, warms it up, counts the instructions of the measured requests,
 * then those of {@link IDLE_SECONDS} without requests, in {@link IDLE_WINDOWS} parts.
 */
async function countInstructions(variant: RouteVariant, redisUrl: string, keyPrefix: string): Promise<Counted> {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-callgrind-'));
  const outFile = path.join(outDir, 'callgrind.out');
  const server = await startServer(variant, redisUrl, keyPrefix, {
    launcher: ['valgrind', '-q', '--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${outFile}`],
    nodeFlags: ['--single-threaded'],
  });
  try {
    const pid = String(server.child.pid);
    const windowSeconds = await warmUpAndMeasure(server.baseUrl + variant.path, pid, variant.name);
    const idleRates: number[] = [];
    for (let part = 2; part < 2 + IDLE_WINDOWS; part += 1) {
      await new Promise((resolve) => setTimeout(resolve, (IDLE_SECONDS * 1000) / IDLE_WINDOWS));
      execFileSync('callgrind_control', ['--dump', pid], { stdio: 'ignore' });
      idleRates.push(dumpTotal(outFile, part, variant.name) / (IDLE_SECONDS / IDLE_WINDOWS));
    }
    // Each dump taken on request is a part of the file, counting what ran since the last; the boot is never collected.
    return { perRequest: dumpTotal(outFile, 1, variant.name) / MEASURED_REQUESTS, windowSeconds, idlePerSecond: median(idleRates) };
  } finally {
    await stopServer(server);
    fs.rmSync(outDir, { recursive: true, force: true });
  }
}

/**
 * The part of a request's count that is the process's idle work: its timers fire by the clock, and
 * under callgrind the requests take tens of times longer than without it, so each is charged that
 * many times the idle work it would share natively.
 */
function backgroundPerRequest({ windowSeconds, idlePerSecond }: Counted): number {
  return (idlePerSecond * windowSeconds) / MEASURED_REQUESTS;
}

/** A variant's multiple of its peer: fewer instructions is faster, so the peer's count over the variant's. */
function readTarget(peer: number, variant: number, bound: number): { ratio: number; met: string } {
  const ratio = Number((peer / variant).toFixed(2));
  return { ratio, met: ratio >= bound ? 'met' : 'NOT met' };
}

async function main(): Promise<void> {
  if (!valgrindOnPath()) throw new Error('valgrind is not installed (apt-get install valgrind)');
  const redis = await benchRedis();
  const keyPrefix = `bench-instr-${process.pid}`;
  const counted = new Map<string, Counted>();
  try {
    for (const { variant, peer } of PAIRS) {
      for (const measured of [peer, variant]) {
        if (counted.has(measured.name)) continue;
        const count = await countInstructions(measured, redis.url, `${keyPrefix}-${counted.size}`);
        counted.set(measured.name, count);
        console.log(`${measured.name}: ${Math.round(count.perRequest)} instructions per request, ${Math.round(count.idlePerSecond)} a second idle`);
      }
    }
  } finally {
    await deleteBenchKeys(redis.url, keyPrefix);
    await redis.server?.stop();
  }
  const rows = [...counted].map(([variant, count]) => ({
    variant,
    'instructions per request': Math.round(count.perRequest),
    'window s': Number(count.windowSeconds.toFixed(1)),
    'idle instructions a second': Math.round(count.idlePerSecond),
    'of which idle work': Math.round(backgroundPerRequest(count)),
    'request work': Math.round(count.perRequest - backgroundPerRequest(count)),
  }));
  const targets = PAIRS.map(({ target, variant, peer, bound }) => {
    const ours = counted.get(variant.name)!;
    const theirs = counted.get(peer.name)!;
    const all = readTarget(theirs.perRequest, ours.perRequest, bound);
    const work = readTarget(theirs.perRequest - backgroundPerRequest(theirs), ours.perRequest - backgroundPerRequest(ours), bound);
    return { target, 'ratio, all instructions': all.ratio, met: all.met, 'ratio, request work': work.ratio, 'met by request work': work.met };
  });
  console.log(`\nInstructions per request under callgrind, ${MEASURED_REQUESTS} requests after ${WARM_UP_REQUESTS} to warm up; idle work counted over ${IDLE_SECONDS} s after them`);
  console.table(rows);
  console.log("\nTargets: the peer's instructions per request over the variant's");
  console.table(targets);
  const settings = { warmUpRequests: WARM_UP_REQUESTS, measuredRequests: MEASURED_REQUESTS, connections: CONNECTIONS, idleSeconds: IDLE_SECONDS };
  console.log(`\nWrote ${writeBenchResults('instructions', { settings, rows, targets })}`);
}

runBenchmark(main);
