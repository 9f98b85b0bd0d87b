/**
 * Latency under light load, measured from a separate process so the client does not share the
 * server's event loop, with sub-millisecond resolution (autocannon's histogram rounds to whole
 * milliseconds, too coarse for routes that answer in under one).
 */
import { fork } from 'node:child_process';
import { Agent, request } from 'node:http';
import { percentile } from './statistics';

export interface LatencySummary {
  requests: number;
  connections: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Answers other than 200, and failed requests. */
  errors: number;
  requestsPerSecond: number;
}

/** A request other than a bare GET: a method, headers and bodies. */
export interface LatencyRequestOptions {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  /** Request `i` sends `bodies[i % bodies.length]` (distinct bodies: each request its own id). */
  bodies?: string[];
}

interface LatencyJob extends LatencyRequestOptions {
  url: string;
  requests: number;
  connections: number;
}

/** The columns every latency table prints, in one order. */
export function latencyColumns(summary: LatencySummary) {
  return {
    connections: summary.connections,
    'p50 ms': summary.p50Ms,
    'p90 ms': summary.p90Ms,
    'p99 ms': summary.p99Ms,
    'max ms': summary.maxMs,
    'req/s': summary.requestsPerSecond,
    errors: summary.errors,
  };
}

/**
 * Sends `requests` requests (GETs unless `options` say otherwise) to `url` over `connections`
 * keep-alive connections, each waiting for its answer.
 */
export function measureLatency(
  url: string,
  requests: number,
  connections: number,
  options: LatencyRequestOptions = {},
): Promise<LatencySummary> {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('message', (summary) => resolve(summary as LatencySummary));
    child.once('error', reject);
    child.once('exit', (code) => code !== 0 && reject(new Error(`latency client exited with ${code}`)));
    child.send({ url, requests, connections, ...options } satisfies LatencyJob);
  });
}

function once(agent: Agent, job: LatencyJob, index: number): Promise<number> {
  return new Promise((resolve) => {
    const body = job.bodies?.length ? job.bodies[index % job.bodies.length] : undefined;
    const headers = { ...job.headers, ...(body === undefined ? {} : { 'Content-Length': Buffer.byteLength(body) }) };
    request(job.url, { agent, method: job.method ?? 'GET', headers }, (response) => {
      response.resume();
      response.once('end', () => resolve(response.statusCode ?? 0));
    })
      .once('error', () => resolve(0))
      .end(body);
  });
}

async function run(job: LatencyJob): Promise<LatencySummary> {
  const agent = new Agent({ keepAlive: true, maxSockets: job.connections });
  const latencies: number[] = [];
  let issued = 0;
  let errors = 0;
  const startedAt = performance.now();
  const worker = async () => {
    while (issued < job.requests) {
      const index = issued;
      issued += 1;
      const sentAt = performance.now();
      const status = await once(agent, job, index);
      latencies.push(performance.now() - sentAt);
      if (status !== 200) errors += 1;
    }
  };
  await Promise.all(Array.from({ length: job.connections }, worker));
  const elapsedS = (performance.now() - startedAt) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    connections: job.connections,
    p50Ms: percentile(latencies, 0.5),
    p90Ms: percentile(latencies, 0.9),
    p99Ms: percentile(latencies, 0.99),
    maxMs: percentile(latencies, 1),
    errors,
    requestsPerSecond: Math.round(latencies.length / elapsedS),
  };
}

if (require.main === module) {
  process.once('message', (job) => {
    void run(job as LatencyJob).then((summary) => process.send!(summary, undefined, {}, () => process.exit(0)));
  });
}
