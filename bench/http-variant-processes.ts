/**
 * The parent's side of bench/http-variant-server.ts: starts a variant's server process, asks it for
 * its CPU time or its heap over IPC, and stops it. Used by `npm run bench` and `npm run bench:memory`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { onCpu } from './cpu-pinning';
import type { HeapReport, ServerKind } from './http-variant-server';
import type { LoadGenerator, Throughput } from './load-generator';

export interface RunningServer {
  child: ChildProcess;
  baseUrl: string;
}

export interface VariantProcess {
  /** Names the variant in errors. */
  name: string;
  server: ServerKind;
  /** This app's log level, when not `warn`. */
  logLevel?: string;
}

/** A variant measured on one route of its server. */
export interface RouteVariant extends VariantProcess {
  path: string;
}

export interface StartOptions {
  /** Added to the process's environment, which this app's configuration reads. */
  env?: Record<string, string>;
  /** A program that runs Node (its path, then its arguments before Node's), e.g. valgrind. */
  launcher?: string[];
  /** Node flags besides the ones every variant gets. */
  nodeFlags?: string[];
  /** The one CPU the process (each of its threads) runs on (bench/cpu-pinning.ts). */
  cpu?: number;
  /**
   * Another checkout of this repository (a git worktree at another revision, bench/revisions.bench.ts)
   * whose own `bench/http-variant-server.ts` is started, from that directory, so the server runs its code.
   */
  checkout?: string;
}

/**
 * Starts one variant's server process and resolves once it listens. Its output is discarded, as a
 * log shipper would take it. The process runs with `--expose-gc` so a `'heap'` request can collect
 * first; the flag only exposes `gc()` and changes none of the collector's heuristics.
 */
export function startServer(variant: VariantProcess, redisUrl: string, keyPrefix: string, options: StartOptions = {}): Promise<RunningServer> {
  const nodeArgs = [...(options.nodeFlags ?? []), '--expose-gc', '-r', '@swc-node/register'];
  const [launcher, ...launcherArgs] = [...(options.cpu === undefined ? [] : onCpu(options.cpu)), ...(options.launcher ?? [])];
  const serverScript = path.join(options.checkout === undefined ? __dirname : path.join(options.checkout, 'bench'), 'http-variant-server.ts');
  const child = fork(serverScript, [variant.server], {
    ...(options.checkout === undefined ? {} : { cwd: options.checkout }),
    ...(launcher ? { execPath: launcher, execArgv: [...launcherArgs, process.execPath, ...nodeArgs] } : { execArgv: nodeArgs }),
    env: { ...process.env, ...options.env, BENCH_REDIS_URL: redisUrl, BENCH_KEY_PREFIX: keyPrefix, BENCH_LOG_LEVEL: variant.logLevel ?? 'warn' },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (message: { port: number }) => resolve({ child, baseUrl: `http://127.0.0.1:${message.port}` }));
    child.once('exit', (code) => reject(new Error(`${variant.name}: server exited with ${code} before listening`)));
  });
}

const childExited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;
const exited = (server: RunningServer) => childExited(server.child);

/** Disconnects a bench child process (it exits on disconnect) and resolves once it has exited. */
export function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (childExited(child)) return resolve();
    child.once('exit', () => resolve());
    child.disconnect();
  });
}

export function stopServer(server: RunningServer): Promise<void> {
  return stopChild(server.child);
}

/** Sends `request` to the server process and resolves with the first answer `pick` accepts. */
function ask<T>(server: RunningServer, request: string, pick: (message: Record<string, unknown>) => T | undefined): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      server.child.off('message', onMessage);
      reject(new Error(`the server process exited (${signal ?? code}) before answering '${request}'`));
    };
    const onMessage = (message: Record<string, unknown>) => {
      const answer = pick(message);
      if (answer === undefined) return;
      server.child.off('message', onMessage);
      server.child.off('exit', onExit);
      resolve(answer);
    };
    if (exited(server)) return reject(new Error(`the server process has exited; cannot ask '${request}'`));
    server.child.on('message', onMessage);
    server.child.once('exit', onExit);
    server.child.send(request);
  });
}

/** CPU time the server process has used so far, in microseconds. */
export function cpuMicrosOf(server: RunningServer): Promise<number> {
  return ask(server, 'cpu', (message) => message.cpuMicros as number | undefined);
}

/** The server process's heap after a full collection and, for this app, its cache namespaces. */
export async function heapOf(server: RunningServer): Promise<HeapReport> {
  const answer = await ask(server, 'heap', (message) =>
    message.heap !== undefined || message.heapError !== undefined ? (message as { heap?: HeapReport; heapError?: string }) : undefined,
  );
  if (answer.heapError !== undefined) throw new Error(answer.heapError);
  return answer.heap!;
}

export interface Measurement extends Throughput {
  /** Requests answered per second of the server's own CPU time: what a request costs, whatever else runs on the machine. */
  requestsPerCpuSecond: number;
}

/** Throughput of `path` on the server from the load generator, and the server's CPU time over the same interval. */
export async function measureServer(
  generator: LoadGenerator,
  server: RunningServer,
  path: string,
  connections: number,
  durationSeconds: number,
): Promise<Measurement> {
  const cpuBefore = await cpuMicrosOf(server);
  const throughput = await generator.measure(server.baseUrl + path, connections, durationSeconds);
  const cpuMicros = (await cpuMicrosOf(server)) - cpuBefore;
  return { ...throughput, requestsPerCpuSecond: throughput.requests / (cpuMicros / 1e6) };
}
