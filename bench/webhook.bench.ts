/**
 * Webhook acknowledgement benchmark: how long `POST /telegram/webhook` takes to answer Telegram
 * while the queued updates are processed in the background, with the durable queue (Redis, BullMQ)
 * and the embedded in-process queue side by side.
 *
 *   npm run bench:webhook     (needs redis-server on PATH or a Redis at REDIS_URL / 127.0.0.1:6379)
 *
 * Boots the real app in production mode with local fakes for Telegram and cursor-runner. Every
 * request is a distinct text update (its own update_id), so each one is authenticated, validated,
 * deduplicated (SET NX in Redis), queued, and then forwarded by the worker (pending request in
 * Redis, cursor-runner call) while the next acknowledgements are measured. Prints p50/p90/p99/max
 * per queue and connection count, checks the target (p99 < 200 ms) and the aim (p50 < 10 ms),
 * and writes bench/results/webhook.json.
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { cursorRunnerProtocol } from '../test/support/fakes/cursor-runner-server';
import { FakeHttpServer } from '../test/support/fakes/fake-http-server';
import { FakeTelegram } from '../test/support/fakes/telegram-server';
import { removeRedisKeys } from '../test/support/redis-keys';
import { benchRedis, runBenchmark, startBenchApp, writeBenchResults } from './bench-support';
import { latencyColumns, measureLatency, type LatencySummary } from './latency-client';

const REQUESTS = Number(process.env.BENCH_WEBHOOK_REQUESTS ?? 2_000);
const WARMUP_REQUESTS = 200;
/** Telegram opens up to 40 connections per webhook (`max_connections`, default 40); 1 and 10 bracket a small bot. */
const CONNECTION_LEVELS = [1, 10];
const SEED_P99_MS = 200;
const AIM_P50_MS = 10;
const TOKEN = '777777:bench-token';
const SECRET = 'bench-telegram-secret';

/** Update ids new to every run and row: a repeated id is acknowledged without being queued. */
let nextUpdateId = Date.now() * 1_000;

function updateBodies(count: number): string[] {
  return Array.from({ length: count }, () =>
    JSON.stringify({
      update_id: nextUpdateId++,
      message: {
        message_id: 1,
        date: 1735689600,
        chat: { id: 123456789, type: 'private' },
        text: 'Please add a README to the notes repository',
      },
    }),
  );
}

async function measure(queue: string, baseUrl: string): Promise<({ queue: string } & LatencySummary)[]> {
  const post = (count: number) => ({
    method: 'POST' as const,
    headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': SECRET },
    bodies: updateBodies(count),
  });
  await measureLatency(`${baseUrl}/telegram/webhook`, WARMUP_REQUESTS, 1, post(WARMUP_REQUESTS));
  const rows: ({ queue: string } & LatencySummary)[] = [];
  for (const connections of CONNECTION_LEVELS) {
    rows.push({ queue, ...(await measureLatency(`${baseUrl}/telegram/webhook`, REQUESTS, connections, post(REQUESTS))) });
  }
  return rows;
}

async function main(): Promise<void> {
  const redis = await benchRedis();
  const telegram = await FakeTelegram.start(TOKEN);
  const cursorRunner = await FakeHttpServer.start(cursorRunnerProtocol({ webhookSecret: 'bench-webhook-secret' }));
  const env = {
    TELEGRAM_BOT_TOKEN: TOKEN,
    TELEGRAM_API_BASE_URL: telegram.url,
    CURSOR_RUNNER_URL: cursorRunner.url,
    CACHE_KEY_PREFIX: `bench-${randomUUID().slice(0, 8)}`,
  };
  const rows: ({ queue: string } & LatencySummary)[] = [];
  try {
    const durable = await startBenchApp(redis.url, { env });
    try {
      rows.push(...(await measure('Redis (BullMQ)', durable.baseUrl)));
    } finally {
      await durable.app.close();
      // Jobs still queued when the app closed stay in Redis: remove this run's queue keys.
      await removeRedisKeys(redis.url, `bull:${env.CACHE_KEY_PREFIX}:`);
    }
    // Production mode requires Redis; the embedded mode is what development and single-instance trials run.
    const embedded = await startBenchApp(redis.url, { env: { ...env, NODE_ENV: 'development', REDIS_URL: '' } });
    try {
      rows.push(...(await measure('in-process', embedded.baseUrl)));
    } finally {
      await embedded.app.close();
    }

    console.log(`\nPOST /telegram/webhook acknowledgement, ${REQUESTS} distinct text updates per row, processed meanwhile`);
    console.table(
      rows.map((row) => ({
        queue: row.queue,
        ...latencyColumns(row),
      })),
    );
    const worstP99 = Math.max(...rows.map((row) => row.p99Ms));
    const worstP50 = Math.max(...rows.map((row) => row.p50Ms));
    const noErrors = rows.every((row) => row.errors === 0);
    const seedMet = worstP99 < SEED_P99_MS && noErrors;
    const aimMet = worstP50 < AIM_P50_MS && noErrors;
    console.log(`\nSeed target: p99 < ${SEED_P99_MS} ms, no errors → worst p99 ${worstP99} ms (${seedMet ? 'met' : 'NOT met'})`);
    console.log(`Aim: p50 in single-digit ms → worst p50 ${worstP50} ms (${aimMet ? 'met' : 'NOT met'})`);
    console.log(`Forwarded to the cursor-runner fake meanwhile: ${cursorRunner.requests.length} updates`);
    const written = writeBenchResults('webhook', {
      settings: { requestsPerRow: REQUESTS, warmupRequests: WARMUP_REQUESTS, connectionLevels: CONNECTION_LEVELS },
      targets: { seedP99Ms: SEED_P99_MS, aimP50Ms: AIM_P50_MS },
      seedMet,
      aimMet,
      latency: rows,
    });
    console.log(`\nWrote ${written}`);
  } finally {
    await Promise.all([telegram.stop(), cursorRunner.stop()]);
    await redis.server?.stop();
  }
}

runBenchmark(main);
