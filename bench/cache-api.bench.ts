/**
 * Programmatic cache APIs side by side, against one Redis:
 *
 *   npm run bench:api      (also part of `npm run bench`)
 *
 * this project's NamespaceCache, BentoCache, cache-manager 7 + @keyv/redis and cacheable
 * (bench/cache-api-libraries.ts), each in a process of its own (bench/cache-api-process.ts), so no
 * library pays for another's garbage: in one shared process, the peers that clone every value they
 * store held 300 MB after five rounds, and a collection of that heap — up to half a second of
 * marking — fell in whichever library's measurement was running.
 * Operations per second for: a get that hits L1; a get that hits L2 (a second instance of the same
 * cache whose L1 holds one entry reads 2 000 keys round-robin, so every read goes to Redis); a set
 * (both tiers); and wrap/getOrSet with 100 callers on each of 100 cold keys at once, counting loader
 * calls. 5 rounds; in each, every operation runs on all libraries back to back, one process at a time,
 * in an order rotated every round, so a ratio between two libraries can be taken per round under the
 * same load. The tables show each library's best round; `medianRatio` gives the median of the rounds' ratios.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { benchRedis, deleteBenchKeys, runBenchmark, writeBenchResults } from './bench-support';
import { CONCURRENCY, cpuKey, CPU_OPERATIONS, LIBRARIES, MEASUREMENTS, OPERATION_MS, OPERATIONS } from './cache-api-libraries';
import type { MeasurementReply, MeasurementRequest } from './cache-api-process';
import { stopChild } from './http-variant-processes';
import { pairedRatios, type RatioSpread } from './statistics';

export { cpuKey } from './cache-api-libraries';

const ROUNDS = Number(process.env.BENCH_API_ROUNDS ?? 5);

/**
 * Starts the process holding `LIBRARIES[index]` and resolves once it has filled its cache. It is not
 * pinned to a CPU: Redis, which this bench may not have started, cannot be pinned to the other one,
 * and with the client pinned one of two scratch runs read about half the operations a second of the
 * other (docs/benchmarks.md, "Programmatic cache APIs").
 */
function startLibrary(index: number, redisUrl: string, keyPrefix: string): Promise<ChildProcess> {
  const child = fork(path.join(__dirname, 'cache-api-process.ts'), [String(index)], {
    execArgv: ['-r', '@swc-node/register'],
    env: { ...process.env, BENCH_REDIS_URL: redisUrl, BENCH_KEY_PREFIX: keyPrefix },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`${LIBRARIES[index].name}: process exited with ${code} before it was ready`)));
  });
}

/** Runs one measurement in a library's process and resolves with its reply. */
function measureIn(child: ChildProcess, request: MeasurementRequest): Promise<MeasurementReply> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`a library's process exited (${code}) during a measurement`));
    child.once('message', (reply: MeasurementReply & { error?: string }) => {
      child.off('exit', onExit);
      if (reply.error !== undefined) reject(new Error(reply.error));
      else resolve(reply);
    });
    child.once('exit', onExit);
    child.send(request);
  });
}

export interface CacheApiResults {
  rows: Record<string, string | number>[];
  ratios: Record<string, string | number>[];
  cpuPerOperation: Record<string, string | number>[];
  cpuRatios: Record<string, string | number>[];
  /** Each library's measurements, one record per round. */
  rounds: Record<string, Record<string, number>[]>;
}

/** The median over rounds of `of(library's round) / of(peer's round)`, and the range of those ratios. */
export function medianRatio(
  results: CacheApiResults,
  library: string,
  peer: string,
  of: (round: Record<string, number>) => number,
): RatioSpread {
  return pairedRatios(results.rounds[library].map(of), results.rounds[peer].map(of));
}

/** Runs the programmatic comparison against `redisUrl`, prints its tables and returns them. */
export async function runCacheApiBench(redisUrl: string): Promise<CacheApiResults> {
  const prefix = `bench-api-${process.pid}`;
  const processes: ChildProcess[] = [];
  const wrongAnswers = new Map<string, number>();
  const rounds = new Map<string, Record<string, number>[]>(LIBRARIES.map((library) => [library.name, []]));
  try {
    // A prefix each: two libraries must not find each other's entries in the shared Redis.
    for (const index of LIBRARIES.keys()) processes.push(await startLibrary(index, redisUrl, `${prefix}-${index}`));
    for (let round = 0; round < ROUNDS; round += 1) {
      const order = LIBRARIES.map((_, index) => (index + round) % LIBRARIES.length);
      for (const index of order) rounds.get(LIBRARIES[index].name)!.push({});
      for (let measurement = 0; measurement < MEASUREMENTS.length; measurement += 1) {
        for (const index of order) {
          const reply = await measureIn(processes[index], { measurement, round });
          Object.assign(rounds.get(LIBRARIES[index].name)![round], reply.record);
          wrongAnswers.set(LIBRARIES[index].name, reply.wrongAnswers);
        }
      }
    }
  } finally {
    await Promise.all(processes.map(stopChild));
    await deleteBenchKeys(redisUrl, prefix);
  }

  // Each library's best round per operation (the most operations per second, the least CPU per
  // operation); wrap loader calls from its worst round.
  const best = new Map(
    [...rounds].map(([name, measured]) => [
      name,
      Object.fromEntries(
        Object.keys(measured[0]).map((key) => {
          const values = measured.map((round) => round[key]);
          return [key, key.endsWith(' CPU') ? Math.min(...values) : Math.max(...values)];
        }),
      ),
    ]),
  );
  const rows = LIBRARIES.map((library) => {
    const measured = best.get(library.name)!;
    return {
      library: library.name,
      ...Object.fromEntries(OPERATIONS.map((operation) => [operation, Math.round(measured[operation])])),
      'wrap loader calls': measured.wrapLoaderCalls,
      'wrong answers': wrongAnswers.get(library.name) ?? 0,
    };
  });
  const ours = best.get(LIBRARIES[0].name)!;
  const ratios = LIBRARIES.slice(1).map((peer) => ({
    'ours vs': peer.name,
    ...Object.fromEntries(OPERATIONS.map((operation) => [operation, Number((ours[operation] / best.get(peer.name)![operation]).toFixed(2))])),
  }));
  const cpuPerOperation = LIBRARIES.map((library) => ({
    library: library.name,
    ...Object.fromEntries(CPU_OPERATIONS.map((operation) => [operation, Number(best.get(library.name)![cpuKey(operation)].toFixed(2))])),
  }));
  const cpuRatios = LIBRARIES.slice(1).map((peer) => ({
    'ours vs': peer.name,
    ...Object.fromEntries(
      CPU_OPERATIONS.map((operation) => [operation, Number((best.get(peer.name)![cpuKey(operation)] / ours[cpuKey(operation)]).toFixed(2))]),
    ),
  }));
  console.log(
    `\nProgrammatic APIs, ~1.1 KB object, ops/s, best of ${ROUNDS} rounds × ${OPERATION_MS} ms, ${CONCURRENCY} callers, ` +
      'each library in a process of its own',
  );
  console.table(rows);
  console.log('\nThis project\'s NamespaceCache as a multiple of each peer');
  console.table(ratios);
  console.log("\nCPU time of the library's process per operation, µs (least of the rounds; Redis's own CPU not included)");
  console.table(cpuPerOperation);
  console.log('\nPeer CPU per operation / ours (above 1: ours costs less CPU)');
  console.table(cpuRatios);
  return { rows, ratios, cpuPerOperation, cpuRatios, rounds: Object.fromEntries(rounds) };
}

if (require.main === module) {
  runBenchmark(async () => {
    const redis = await benchRedis();
    try {
      const results = await runCacheApiBench(redis.url);
      console.log(`\nWrote ${writeBenchResults('cache-api', { settings: { operationMs: OPERATION_MS, rounds: ROUNDS, concurrency: CONCURRENCY }, ...results })}`);
    } finally {
      await redis.server?.stop();
    }
  });
}
