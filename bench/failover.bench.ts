import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AppProcess } from '../test/support/faults/app-process';
import { FakeTelegram } from '../test/support/fakes/telegram-server';
import { Cluster } from 'ioredis';
import { startRedisCluster, startRedisSentinel, type RedisClusterUnderTest } from '../test/support/redis-topologies';
import { runBenchmark, writeBenchResults } from './bench-support';
import { percentile } from './statistics';

/**
 * Failover under load: two app processes on a Redis Cluster (3 primaries, 3 replicas) and then on a
 * Sentinel-managed primary (1 replica, 3 sentinels), both started here on loopback ports. Webhooks
 * (each a `/start` from a chat of its own, sent again after a non-200 as Telegram does) and callbacks
 * go to instance A, cached reads to instance B, readiness is polled on A; after a few seconds the
 * primary (on the Cluster: the one owning the queue's slot) is SIGKILLed. Reports requests failed
 * per kind, the slowest failed answer, the time from the kill to the last failed request and to
 * readiness answering 200 again, and updates lost or answered twice. Before the kill on the Cluster,
 * the latency of classic and sharded pub/sub between two Cluster clients (the invalidation bus's choice).
 */

const TOKEN = '888888:failover-bench-token';
const BEFORE_KILL_MS = 3_000;
const AFTER_RECOVERY_MS = 3_000;
/** The apps' job lock and stalled-job check (their defaults, set here so the wait below follows them). */
const QUEUE_LOCK_DURATION_MS = 30_000;
const QUEUE_STALLED_INTERVAL_MS = 5_000;
/**
 * How long after the kill an update is waited for before it counts as lost: a job whose pickup the
 * killed primary ran without the worker hearing of it waits out its lock and a stalled-job check
 * (docs/redis.md, "Failover"), plus slack.
 */
const ANSWERED_WITHIN_MS = QUEUE_LOCK_DURATION_MS + QUEUE_STALLED_INTERVAL_MS + 5_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface KindStats {
  requests: number;
  failed: number;
  slowestFailureMs: number;
  statuses: Record<string, number>;
}

interface TopologyResult {
  topology: string;
  webhook: KindStats;
  callback: KindStats;
  cachedRead: KindStats;
  lastFailureAfterKillMs: number;
  readyAgainAfterKillMs: number;
  readinessDownMs: number;
  updatesAccepted: number;
  updatesLost: number;
  updatesTwice: number;
}

async function timed(url: string, init: RequestInit = {}): Promise<{ status: number; ms: number; at: number }> {
  const started = Date.now();
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
    await response.arrayBuffer();
    return { status: response.status, ms: Date.now() - started, at: Date.now() };
  } catch {
    return { status: 0, ms: Date.now() - started, at: Date.now() };
  }
}

const emptyStats = (): KindStats => ({ requests: 0, failed: 0, slowestFailureMs: 0, statuses: {} });

async function underLoad(
  topology: string,
  redisEnv: Record<string, string>,
  kill: () => Promise<void>,
): Promise<TopologyResult> {
  const telegram = await FakeTelegram.start(TOKEN);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jarek-va-failover-'));
  const env = {
    ...redisEnv,
    DATABASE_URL: `file:${path.join(dataDir, 'shared.sqlite3')}`,
    WEBHOOK_SECRET: 'bench-webhook-secret',
    TELEGRAM_WEBHOOK_SECRET: 'bench-telegram-secret',
    TELEGRAM_BOT_TOKEN: TOKEN,
    TELEGRAM_API_BASE_URL: telegram.url,
    CACHE_KEY_PREFIX: `failover-${process.pid}`,
    LOG_LEVEL: 'warn',
    QUEUE_RETRY_DELAY_MS: '100',
    QUEUE_LOCK_DURATION_MS: String(QUEUE_LOCK_DURATION_MS),
    QUEUE_STALLED_INTERVAL_MS: String(QUEUE_STALLED_INTERVAL_MS),
  };
  const apps: AppProcess[] = [];
  try {
    apps.push(await AppProcess.start({ env, readyWithinMs: 120_000 }));
    apps.push(await AppProcess.start({ env, readyWithinMs: 120_000 }));
    const [a, b] = apps;
    const stats = { webhook: emptyStats(), callback: emptyStats(), cachedRead: emptyStats() };
    let lastFailureAt = 0;
    const record = (kind: keyof typeof stats, answer: { status: number; ms: number; at: number }, ok: boolean) => {
      const kindStats = stats[kind];
      kindStats.requests += 1;
      kindStats.statuses[answer.status] = (kindStats.statuses[answer.status] ?? 0) + 1;
      if (ok) return;
      kindStats.failed += 1;
      kindStats.slowestFailureMs = Math.max(kindStats.slowestFailureMs, answer.ms);
      lastFailureAt = Math.max(lastFailureAt, answer.at);
    };
    const admin = { 'X-Admin-Secret': 'bench-webhook-secret' };
    await timed(`${a.baseUrl}/settings/failover_bench`, { method: 'PUT', headers: { ...admin, 'content-type': 'application/json' }, body: '{"enabled":true}' });
    let running = true;
    let chat = 700_000_000;
    let updateId = Math.floor(Date.now() / 1000) * 10;
    const chats: number[] = [];
    const webhooks = (async () => {
      while (running) {
        const id = ++updateId;
        const chatId = ++chat;
        chats.push(chatId);
        const body = JSON.stringify({
          update_id: id,
          message: { message_id: id, date: Math.floor(Date.now() / 1000), chat: { id: chatId, type: 'private' }, text: '/start' },
        });
        // Telegram redelivers for a day; the bench gives up 30 s after the traffic stops (the update is then lost).
        let stoppedAt = 0;
        for (;;) {
          if (!running && (stoppedAt ||= Date.now()) + 30_000 < Date.now()) break;
          const answer = await timed(`${a.baseUrl}/telegram/webhook`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'X-Telegram-Bot-Api-Secret-Token': 'bench-telegram-secret' },
            body,
          });
          record('webhook', answer, answer.status === 200);
          if (answer.status === 200) break;
          await sleep(100);
        }
        await sleep(20);
      }
    })();
    const callbacks = (async () => {
      let n = 0;
      while (running) {
        const answer = await timed(`${a.baseUrl}/cursor-runner/callback`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'X-Webhook-Secret': 'bench-webhook-secret' },
          body: JSON.stringify({ request_id: `telegram-${Date.now()}-${(n += 1)}`, success: true, output: 'done' }),
        });
        record('callback', answer, answer.status < 500 && answer.status !== 0);
        await sleep(20);
      }
    })();
    const reads = (async () => {
      while (running) {
        const answer = await timed(`${b.baseUrl}/settings/failover_bench`, { headers: admin });
        record('cachedRead', answer, answer.status === 200);
        await sleep(10);
      }
    })();
    let readinessDownMs = 0;
    let readyAgainAt = 0;
    let killedAt = 0;
    let downSince = 0;
    const readinessIsDown = () => downSince !== 0;
    const readiness = (async () => {
      while (running) {
        const answer = await timed(`${a.baseUrl}/health/ready`);
        if (answer.status !== 200 && downSince === 0) downSince = answer.at;
        if (answer.status === 200 && downSince !== 0) {
          readinessDownMs += answer.at - downSince;
          readyAgainAt = answer.at;
          downSince = 0;
        }
        await sleep(100);
      }
    })();
    await sleep(BEFORE_KILL_MS);
    killedAt = Date.now();
    await kill();
    // Until readiness is back and nothing has failed for a while.
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && (readinessIsDown() || Date.now() - Math.max(lastFailureAt, readyAgainAt, killedAt) < AFTER_RECOVERY_MS)) {
      await sleep(200);
    }
    running = false;
    await Promise.all([webhooks, callbacks, reads, readiness]);
    const answered = async () => chats.filter((id) => telegram.messages(id).length === 0).length;
    const settleBy = Math.max(Date.now() + 20_000, killedAt + ANSWERED_WITHIN_MS);
    while ((await answered()) > 0 && Date.now() < settleBy) await sleep(200);
    await sleep(1_000);
    return {
      topology,
      ...stats,
      lastFailureAfterKillMs: lastFailureAt > killedAt ? lastFailureAt - killedAt : 0,
      readyAgainAfterKillMs: readyAgainAt > killedAt ? readyAgainAt - killedAt : 0,
      readinessDownMs,
      updatesAccepted: chats.length,
      updatesLost: chats.filter((id) => telegram.messages(id).length === 0).length,
      updatesTwice: chats.filter((id) => telegram.messages(id).length > 1).length,
    };
  } finally {
    await Promise.all(apps.map((app) => app.kill('SIGKILL')));
    await telegram.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

const BUS_MESSAGES = 1_000;

interface BusResult {
  transport: string;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * The invalidation bus's choice on a Cluster: one publisher and one subscriber (ioredis Cluster
 * clients, as the app uses), 1 000 messages one after another, publish → receive latency of
 * classic pub/sub (PUBLISH, forwarded to every node) and of sharded pub/sub (SPUBLISH, kept on the
 * channel's slot owner and its replicas).
 */
async function busLatency(cluster: RedisClusterUnderTest): Promise<BusResult[]> {
  const nodes = cluster.seeds.split(',').map((seed) => ({ host: '127.0.0.1', port: Number(seed.split(':')[1]) }));
  const results: BusResult[] = [];
  for (const sharded of [false, true]) {
    const publisher = new Cluster(nodes);
    const subscriber = new Cluster(nodes, sharded ? { shardedSubscribers: true } : {});
    const channel = `bench:bus:${sharded ? 'sharded' : 'classic'}`;
    try {
      let waiting: ((at: number) => void) | undefined;
      subscriber.on(sharded ? 'smessage' : 'message', () => waiting?.(performance.now()));
      await (sharded ? subscriber.ssubscribe(channel) : subscriber.subscribe(channel));
      const latencies: number[] = [];
      for (let index = 0; index < BUS_MESSAGES; index += 1) {
        const heard = new Promise<number>((resolve) => (waiting = resolve));
        const sentAt = performance.now();
        await (sharded ? publisher.spublish(channel, String(index)) : publisher.publish(channel, String(index)));
        latencies.push((await heard) - sentAt);
      }
      latencies.sort((a, b) => a - b);
      const round = (value: number) => Math.round(value * 100) / 100;
      results.push({
        transport: sharded ? 'sharded (SPUBLISH)' : 'classic (PUBLISH)',
        p50Ms: round(percentile(latencies, 0.5)),
        p99Ms: round(percentile(latencies, 0.99)),
        maxMs: round(latencies.at(-1) ?? 0),
      });
    } finally {
      publisher.disconnect();
      subscriber.disconnect();
    }
  }
  return results;
}

async function main(): Promise<void> {
  const results: TopologyResult[] = [];
  let bus: BusResult[] = [];
  const cluster = await startRedisCluster();
  try {
    bus = await busLatency(cluster);
    const queueSlotKey = `{bull:failover-${process.pid}}:telegram-updates:id`;
    results.push(
      await underLoad('cluster', { REDIS_CLUSTER_NODES: cluster.seeds }, async () => {
        await (await cluster.primaryOf(queueSlotKey)).kill();
      }),
    );
  } finally {
    await cluster.stop();
  }
  const sentinel = await startRedisSentinel();
  try {
    results.push(
      await underLoad('sentinel', { REDIS_SENTINELS: sentinel.sentinels, REDIS_SENTINEL_NAME: sentinel.name }, async () => {
        await (await sentinel.primary()).kill();
      }),
    );
  } finally {
    await sentinel.stop();
  }
  const failed = (stats: KindStats) => `${stats.failed}/${stats.requests} (slowest ${stats.slowestFailureMs} ms)`;
  console.table(
    results.map((result) => ({
      topology: result.topology,
      'webhooks failed': failed(result.webhook),
      'callbacks failed': failed(result.callback),
      'cached reads failed': failed(result.cachedRead),
      'last failure after kill (ms)': result.lastFailureAfterKillMs,
      'ready again after kill (ms)': result.readyAgainAfterKillMs,
      'updates accepted': result.updatesAccepted,
      'updates lost': result.updatesLost,
      'updates twice': result.updatesTwice,
    })),
  );
  console.table(bus);
  const file = writeBenchResults('failover', { beforeKillMs: BEFORE_KILL_MS, results, bus });
  console.log(`Wrote ${file}`);
}

runBenchmark(main);
