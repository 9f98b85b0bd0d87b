/**
 * Outbound HTTP benchmark: exchanges per second of `OutboundHttp` (undici `Pool`) against the
 * hand-written `node:http` transport it replaced, side by side in one run.
 *
 *   npm run bench:outbound
 *
 * The earlier transport is not kept in the code base: it is read from git history
 * (`BENCH_OUTBOUND_BEFORE`, default the last commit that had it) into a temporary folder at start.
 * A loopback server in a worker thread answers each request with a small JSON body, as Telegram and
 * cursor-runner do. Both clients send the same POSTs with a JSON body, one at a time and several at
 * once, in alternating rounds; the table shows the median exchanges per second and the ratio
 * after/before. Writes bench/results/outbound-http.json.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { OutboundHttp, type OutboundRequest, type OutboundResponse } from '@app/outbound-http';
import { runBenchmark, writeBenchResults } from './bench-support';
import { percentile } from './statistics';

/** The last commit whose libs/outbound-http was the `node:http` transport. */
const BEFORE_REF = process.env.BENCH_OUTBOUND_BEFORE ?? '98882633b4c6f71cffe886dc598cc23512db675e';
const EXCHANGES_PER_ROUND = Number(process.env.BENCH_OUTBOUND_EXCHANGES ?? 3_000);
const ROUNDS = Number(process.env.BENCH_OUTBOUND_ROUNDS ?? 5);
const CONCURRENCY_LEVELS = [1, 8];
const REQUEST_BODY = JSON.stringify({ chat_id: 42, text: 'x'.repeat(200), parse_mode: 'HTML' });

interface Transport {
  exchange(request: OutboundRequest): Promise<OutboundResponse>;
  close(): void;
}
type TransportClass = new (options: { baseUrl: string; timeoutMs: number; keepAlive: boolean }) => Transport;

/** Writes the transport of `BEFORE_REF` (and its errors module) to a temporary folder and loads it. */
function loadTransportBefore(): TransportClass {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'outbound-http-before-'));
  for (const file of ['outbound-http.ts', 'outbound-http.errors.ts']) {
    const source = execFileSync('git', ['show', `${BEFORE_REF}:libs/outbound-http/src/${file}`], { encoding: 'utf8' });
    fs.writeFileSync(path.join(folder, file), source);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loads a file written at run time through the swc register hook, which import() would bypass
  return (require(path.join(folder, 'outbound-http.ts')) as { OutboundHttp: TransportClass }).OutboundHttp;
}

/** A loopback HTTP server in its own thread, so it does not share the clients' event loop. */
async function startServer(): Promise<{ url: string; stop: () => Promise<number> }> {
  const worker = new Worker(
    `
    const { parentPort } = require('node:worker_threads');
    const { createServer } = require('node:http');
    const answer = JSON.stringify({ ok: true, result: { message_id: 1, chat: { id: 42 }, text: 'done' } });
    const server = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        response.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(answer) });
        response.end(answer);
      });
    });
    server.keepAliveTimeout = 60_000;
    server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
    `,
    { eval: true },
  );
  const port = await new Promise<number>((resolve) => worker.once('message', resolve));
  return { url: `http://127.0.0.1:${port}`, stop: () => worker.terminate() };
}

/** Exchanges per second of `transport` for `total` POSTs, `concurrency` in flight at a time. */
async function throughput(transport: Transport, total: number, concurrency: number): Promise<number> {
  let sent = 0;
  const request: OutboundRequest = {
    method: 'POST',
    path: '/bot123:abc/sendMessage',
    headers: { 'Content-Type': 'application/json' },
    body: REQUEST_BODY,
  };
  const lane = async (): Promise<void> => {
    while (sent < total) {
      sent += 1;
      const answer = await transport.exchange(request);
      if (answer.status !== 200) throw new Error(`unexpected status ${answer.status}`);
    }
  };
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, lane));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return total / seconds;
}

async function main(): Promise<void> {
  const Before = loadTransportBefore();
  const server = await startServer();
  const variants: { name: string; transport: Transport }[] = [
    { name: 'before (node:http Agent)', transport: new Before({ baseUrl: server.url, timeoutMs: 10_000, keepAlive: true }) },
    { name: 'after (undici Pool)', transport: new OutboundHttp({ baseUrl: server.url, timeoutMs: 10_000, keepAlive: true }) },
  ];
  try {
    for (const { transport } of variants) await throughput(transport, 500, 4);
    const rows: { concurrency: number; variant: string; medianPerSecond: number; samples: number[] }[] = [];
    for (const concurrency of CONCURRENCY_LEVELS) {
      const samples = variants.map(() => [] as number[]);
      for (let round = 0; round < ROUNDS; round += 1) {
        for (const [index, { transport }] of variants.entries()) {
          samples[index].push(Math.round(await throughput(transport, EXCHANGES_PER_ROUND, concurrency)));
        }
      }
      for (const [index, { name }] of variants.entries()) {
        const sorted = [...samples[index]].sort((a, b) => a - b);
        rows.push({ concurrency, variant: name, medianPerSecond: percentile(sorted, 0.5), samples: samples[index] });
      }
    }
    const ratios = CONCURRENCY_LEVELS.map((concurrency) => {
      const [before, after] = rows.filter((row) => row.concurrency === concurrency);
      return { concurrency, afterOverBefore: Math.round((after.medianPerSecond / before.medianPerSecond) * 100) / 100 };
    });

    console.log(`\nOutbound POST exchanges per second, median of ${ROUNDS} rounds of ${EXCHANGES_PER_ROUND}`);
    console.table(
      rows.map((row) => ({
        concurrency: row.concurrency,
        variant: row.variant,
        'exchanges/s (median)': row.medianPerSecond,
        'after/before': row.variant.startsWith('after')
          ? ratios.find((ratio) => ratio.concurrency === row.concurrency)?.afterOverBefore
          : '',
      })),
    );
    const written = writeBenchResults('outbound-http', {
      settings: { before: BEFORE_REF, exchangesPerRound: EXCHANGES_PER_ROUND, rounds: ROUNDS, concurrencyLevels: CONCURRENCY_LEVELS },
      throughput: rows,
      ratios,
    });
    console.log(`\nWrote ${written}`);
  } finally {
    for (const { transport } of variants) transport.close();
    await server.stop();
  }
}

runBenchmark(main);
