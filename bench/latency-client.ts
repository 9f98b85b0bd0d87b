/**
 * Latency under light load, measured from a separate process so the client does not share the
 * server's event loop, with sub-millisecond resolution (autocannon's histogram rounds to whole
 * milliseconds, too coarse for routes that answer in under one).
 */
import { fork } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';
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

/** A request other than a plain GET. */
export interface LatencyRequest {
  method: string;
  headers?: Record<string, string>;
  /** The body; every `{{n}}` in it becomes the request's sequence number (1, 2, …), so bodies can differ. */
  bodyTemplate?: string;
}

interface LatencyJob {
  url: string;
  requests: number;
  connections: number;
  request?: LatencyRequest;
}

/**
 * Sends `requests` requests (GETs unless `request` says otherwise) to `url` over `connections`
 * keep-alive connections, each waiting for its answer.
 */
export function measureLatency(
  url: string,
  requests: number,
  connections: number,
  request?: LatencyRequest,
): Promise<LatencySummary> {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('message', (summary) => resolve(summary as LatencySummary));
    child.once('error', reject);
    child.once('exit', (code) => code !== 0 && reject(new Error(`latency client exited with ${code}`)));
    child.send({ url, requests, connections, request } satisfies LatencyJob);
  });
}

function once(agent: Agent, url: string, spec: LatencyRequest | undefined, sequence: number): Promise<number> {
  return new Promise((resolve) => {
    const body = spec?.bodyTemplate?.replaceAll('{{n}}', String(sequence));
    const outgoing = httpRequest(
      url,
      {
        agent,
        method: spec?.method ?? 'GET',
        headers: body === undefined ? spec?.headers : { ...spec?.headers, 'content-length': String(Buffer.byteLength(body)) },
      },
      (response) => {
        response.resume();
        response.once('end', () => resolve(response.statusCode ?? 0));
      },
    );
    outgoing.once('error', () => resolve(0));
    outgoing.end(body);
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
      issued += 1;
      const sequence = issued;
      const sentAt = performance.now();
      const status = await once(agent, job.url, job.request, sequence);
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
