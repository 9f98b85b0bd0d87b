/**
 * Throughput of one URL, measured by a load generator in a process of its own: wrk (one thread)
 * when it is on PATH, as it drives more requests per second from one CPU than a Node client;
 * autocannon otherwise. Both keep `connections` requests in flight for `durationSeconds`.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { onCpu, onPath } from './cpu-pinning';

const run = promisify(execFile);

export interface Throughput {
  requestsPerSecond: number;
  /** Requests answered during the measurement. */
  requests: number;
  p99Ms: number;
  /** Answers other than 2xx/3xx, and socket errors. */
  errors: number;
}

export interface LoadGenerator {
  name: string;
  measure(url: string, connections: number, durationSeconds: number): Promise<Throughput>;
}

const MS_PER_UNIT: Record<string, number> = { us: 0.001, ms: 1, s: 1000 };

/** Reads wrk's `--latency` report. */
export function parseWrkReport(report: string): Throughput {
  const requestsPerSecond = Number(/Requests\/sec:\s+([\d.]+)/.exec(report)?.[1]);
  const requests = Number(/(\d+) requests in/.exec(report)?.[1]);
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s)\s*$/m.exec(report);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(report)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(report);
  const socketErrors = socket ? socket.slice(1).reduce((sum, count) => sum + Number(count), 0) : 0;
  if (!Number.isFinite(requestsPerSecond) || !Number.isFinite(requests) || !p99) throw new Error(`unreadable wrk report:\n${report}`);
  return { requestsPerSecond, requests, p99Ms: Number(p99[1]) * MS_PER_UNIT[p99[2]], errors: non2xx + socketErrors };
}

/** `command` with its arguments, run on `cpu` when one is given. */
function runOn(cpu: number | undefined, command: string, args: string[], options: { maxBuffer?: number } = {}) {
  const [file, ...prefix] = cpu === undefined ? [command] : [...onCpu(cpu), command];
  return run(file, [...prefix, ...args], options);
}

const wrk = (cpu: number | undefined): LoadGenerator => ({
  name: 'wrk, 1 thread',
  async measure(url, connections, durationSeconds) {
    const { stdout } = await runOn(cpu, 'wrk', ['-t1', `-c${connections}`, `-d${durationSeconds}s`, '--latency', url]);
    return parseWrkReport(stdout);
  },
});

const autocannon = (cpu: number | undefined): LoadGenerator => ({
  name: 'autocannon',
  async measure(url, connections, durationSeconds) {
    const { stdout } = await runOn(
      cpu,
      process.execPath,
      [require.resolve('autocannon/autocannon.js'), '-j', '-c', String(connections), '-d', String(durationSeconds), url],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    const result = JSON.parse(stdout) as { requests: { average: number; total: number }; latency: { p99: number }; errors: number; non2xx: number };
    return { requestsPerSecond: result.requests.average, requests: result.requests.total, p99Ms: result.latency.p99, errors: result.errors + result.non2xx };
  },
});

/** wrk when installed (`apt-get install wrk`), else autocannon (a devDependency); on `cpu` only when one is given. */
export function loadGenerator(cpu?: number): LoadGenerator {
  return process.env.BENCH_LOAD_GENERATOR !== 'autocannon' && onPath('wrk') ? wrk(cpu) : autocannon(cpu);
}
