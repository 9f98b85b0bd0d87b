/**
 * Callback benchmark: how fast `POST /cursor-runner/callback` answers cursor-runner under load.
 *
 *   npm run bench:callback     (needs redis-server on PATH or a Redis at REDIS_URL / 127.0.0.1:6379)
 *
 * Boots the real app in production mode with Redis configured and Telegram replaced by the fake
 * Bot API (started in this process). Every request carries a result of its own for a pending
 * request seeded beforehand, so each one is authenticated, claimed and read in Redis, queued in the
 * result-deliveries queue (BullMQ), answered, then delivered to the fake (and its pending key
 * deleted) by the app's queue worker. Prints p50/p90/p99/max
 * of the answer per connection count, checks that every result reached the fake exactly once and
 * every pending key is gone, and writes bench/results/callback.json.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { DeliverResult, PendingRequestStore } from '../apps/api/src/conversation';
import { FakeTelegram } from '../test/support/fakes/telegram-server';
import { benchRedis, deleteBenchKeys, runBenchmark, startBenchApp, writeBenchResults } from './bench-support';
import { latencyColumns, measureLatency, type LatencySummary } from './latency-client';

const REQUESTS = Number(process.env.BENCH_CALLBACK_REQUESTS ?? 2_000);
const WARMUP_REQUESTS = 200;
/** One cursor-runner finishing at a time, then several runs finishing together. */
const CONNECTION_LEVELS = [1, 8];
const P99_BUDGET_MS = 500;
const SECRET = 'bench-webhook-secret';
const TOKEN = '999999:bench-callback-bot';
/** A realistic result: about 1.5 KB of agent output with characters that need escaping. */
const OUTPUT = Array.from({ length: 30 }, (_, line) => `line ${line}: if (a < b && c > d) { ok(); }`).join('\n');

async function seed(store: PendingRequestStore, count: number): Promise<string[]> {
  const run = randomBytes(4).toString('hex');
  const ids = Array.from({ length: count }, (_, index) => `telegram-bench-${run}-${index}`);
  for (const [index, id] of ids.entries()) {
    await store.store(id, {
      chatId: 1_000 + (index % 50),
      messageId: index + 1,
      prompt: 'bench',
      originalWasAudio: false,
      createdAt: new Date().toISOString(),
      botId: null,
    });
  }
  return ids;
}

function bodiesFor(ids: string[]): string[] {
  return ids.map((requestId) =>
    JSON.stringify({
      success: true,
      requestId,
      repository: 'jarek-va',
      output: OUTPUT,
      error: null,
      exitCode: 0,
      duration: '4200ms',
      timestamp: new Date().toISOString(),
    }),
  );
}

async function main(): Promise<void> {
  const redis = await benchRedis();
  const telegram = await FakeTelegram.start(TOKEN);
  const { app, baseUrl } = await startBenchApp(redis.url, {
    env: { TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_API_BASE_URL: telegram.url },
  });
  const inspector = new Redis(redis.url);
  const store = app.get(PendingRequestStore);
  const deliveries = app.get(DeliverResult);
  const url = `${baseUrl}/cursor-runner/callback`;
  const headers = { 'Content-Type': 'application/json', 'X-Webhook-Secret': SECRET };
  try {
    const run = async (requests: number, connections: number) => {
      telegram.reset();
      const ids = await seed(store, requests);
      const summary = await measureLatency(url, requests, connections, { method: 'POST', headers, bodies: bodiesFor(ids) });
      await deliveries.settled();
      let left = 0;
      for (let start = 0; start < ids.length; start += 500) {
        left += await inspector.exists(...ids.slice(start, start + 500).map((id) => `cursor_runner_callback:${id}`));
      }
      return { ...summary, delivered: telegram.messages().length, pendingLeft: left };
    };
    await run(WARMUP_REQUESTS, 1);
    const rows: (LatencySummary & { delivered: number; pendingLeft: number })[] = [];
    for (const connections of CONNECTION_LEVELS) rows.push(await run(REQUESTS, connections));

    console.log(`\nPOST /cursor-runner/callback, ${REQUESTS} callbacks per row, Redis and the fake Telegram on loopback`);
    console.table(
      rows.map((row) => ({
        ...latencyColumns(row),
        delivered: row.delivered,
        'pending left': row.pendingLeft,
      })),
    );
    const worst = rows.reduce((slowest, row) => (row.p99Ms > slowest.p99Ms ? row : slowest));
    const complete = rows.every((row) => row.errors === 0 && row.delivered === row.requests && row.pendingLeft === 0);
    const met = worst.p99Ms < P99_BUDGET_MS && complete;
    console.log(
      `\nTarget: p99 < ${P99_BUDGET_MS} ms, every result delivered once and its pending key deleted → worst p99 ` +
        `${worst.p99Ms} ms (${worst.connections} connection(s)), ${complete ? 'all delivered' : 'NOT all delivered'} ` +
        `(${met ? 'met' : 'NOT met'})`,
    );
    const written = writeBenchResults('callback', {
      settings: { requestsPerRow: REQUESTS, warmupRequests: WARMUP_REQUESTS, connectionLevels: CONNECTION_LEVELS, outputBytes: OUTPUT.length },
      targetP99Ms: P99_BUDGET_MS,
      targetMet: met,
      latency: rows,
    });
    console.log(`\nWrote ${written}`);
  } finally {
    await app.close();
    // The delivery queue's once ids and the kept results outlive the run (a day, an hour) in a shared Redis.
    await deleteBenchKeys(redis.url, `bench-${process.pid}:`);
    await deleteBenchKeys(redis.url, 'telegram-bench-');
    await inspector.quit();
    await telegram.stop();
    await redis.server?.stop();
  }
}

runBenchmark(main);
