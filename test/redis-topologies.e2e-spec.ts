import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { CacheRegistry } from '@app/cache';
import Redis from 'ioredis';
import { REDIS_CLIENT, type RedisConnection } from '@app/redis';
import { deliveryClaimKey, HELP_TEXT, pendingRequestKey, PendingRequestStore } from '../apps/api/src/conversation';
import { FakeTelegram } from './support/fakes/telegram-server';
import { pollUntil } from './support/poll';
import { FAILOVER_WITHIN_MS, startRedisCluster, startRedisSentinel, type RedisClusterUnderTest, type RedisNode, type RedisSentinelUnderTest } from './support/redis-topologies';
import { loadTelegramUpdate } from './support/telegram-fixtures';
import { startTestApp, type TestApp } from './support/test-app';

const TOKEN = '777777:redis-topology-token';
const ADMIN = { 'X-Admin-Secret': 'test-webhook-secret' };
/** REDIS_COMMAND_TIMEOUT_MS's default, which the apps below run with. */
const COMMAND_TIMEOUT_MS = 1_000;
/** What a request needing Redis may take while the primary is switched: the command budget plus 1 s. */
const ANSWER_BUDGET_MS = COMMAND_TIMEOUT_MS + 1_000;

/** Starting six nodes (or five) and two apps on a loaded machine. */
const TOPOLOGY_START_MS = 90_000;
/** The switch itself, then the traffic that shows recovery and every update's one answer. */
const FAILOVER_TEST_MS = FAILOVER_WITHIN_MS * 2 + 30_000;

/**
 * The apps' job lock and stalled-job check, shorter than the defaults (30 s, 5 s) so that a job
 * stranded by the kill (below) runs again within the test's time.
 */
const QUEUE_LOCK_DURATION_MS = 5_000;
const QUEUE_STALLED_INTERVAL_MS = 1_000;
/**
 * How long after the switch every update acknowledged with 200 has its answer. A worker's pickup
 * (BullMQ's moveToActive) that the killed primary ran and copied to the replica, but whose reply the
 * kill lost, leaves the job active under a lock nobody renews: it runs once the lock has expired and a
 * stalled-job check has passed (docs/redis.md, Failover), plus slack for a loaded machine.
 */
const ANSWERED_WITHIN_MS = QUEUE_LOCK_DURATION_MS + QUEUE_STALLED_INTERVAL_MS + 5_000;

/** Polls `read` until `accept` holds; fails the test, naming the last value read, if it never does within `withinMs`. */
async function eventually<T>(read: () => Promise<T>, accept: (value: T) => boolean, withinMs: number, everyMs: number): Promise<T> {
  const { value } = await pollUntil(read, accept, withinMs, everyMs);
  if (!accept(value)) throw new Error(`Still ${JSON.stringify(value)} after ${withinMs} ms`);
  return value;
}

interface Fleet {
  a: TestApp;
  b: TestApp;
  telegram: FakeTelegram;
}

async function startFleet(env: Record<string, string>): Promise<Fleet> {
  const telegram = await FakeTelegram.start(TOKEN);
  const shared = {
    ...env,
    CACHE_KEY_PREFIX: `topo-${randomUUID().slice(0, 8)}`,
    TELEGRAM_BOT_TOKEN: TOKEN,
    TELEGRAM_API_BASE_URL: telegram.url,
    QUEUE_RETRY_DELAY_MS: '50',
    QUEUE_LOCK_DURATION_MS: String(QUEUE_LOCK_DURATION_MS),
    QUEUE_STALLED_INTERVAL_MS: String(QUEUE_STALLED_INTERVAL_MS),
    // The slot layout is under test, not latency: a cold connection on a loaded machine must not count as a failure.
    CACHE_L2_TIMEOUT_MS: '500',
  };
  const a = await startTestApp({ env: shared });
  const b = await startTestApp({ env: shared, databaseFile: a.databaseFile });
  return { a, b, telegram };
}

async function stopFleet(fleet: Fleet | undefined): Promise<void> {
  if (!fleet) return;
  await Promise.all([fleet.a.close(), fleet.b.close()]);
  await fleet.telegram.stop();
}

let nextUpdateId = Math.floor(Date.now() / 1000) * 10;
let nextChat = 500_000_000 + Math.floor(Math.random() * 1_000_000);

/** A `/start` from a chat of its own, so each update's one answer can be counted. */
function startUpdate(): { body: Record<string, unknown>; chat: number } {
  const body = loadTelegramUpdate('start-command') as Record<string, unknown> & { message: { chat: { id: number } } };
  const chat = ++nextChat;
  body.update_id = ++nextUpdateId;
  body.message.chat.id = chat;
  return { body, chat };
}

const postUpdate = (app: TestApp, body: unknown) =>
  request(app.baseUrl).post('/telegram/webhook').set('X-Telegram-Bot-Api-Secret-Token', 'test-telegram-secret').send(body as object);
const getSetting = (app: TestApp, name: string) => request(app.baseUrl).get(`/settings/${name}`).set(ADMIN);
const putSetting = (app: TestApp, name: string, enabled: boolean) =>
  request(app.baseUrl).put(`/settings/${name}`).set(ADMIN).send({ enabled }).expect(200);

/** What the fleet does on a healthy topology: the bus crosses instances, L2 writes succeed, updates are answered once. */
async function servesNormally(fleet: Fleet, setting: string): Promise<void> {
  await putSetting(fleet.a, setting, true);
  expect((await getSetting(fleet.b, setting)).body).toEqual({ name: setting, enabled: true });
  // A's invalidation crosses the topology a moment after A answers: a read B began before it arrived
  // is answered but not kept (it could predate the write), so B's cache holds the value from the next read on.
  await eventually(async () => (await getSetting(fleet.b, setting)).headers['x-cache'], (cache) => cache === 'HIT', 2_000, 20);
  await putSetting(fleet.a, setting, false);
  // B's L1 held `true`: only the invalidation event, across the topology's nodes, drops it.
  await eventually(async () => (await getSetting(fleet.b, setting)).body, (body) => body.enabled === false, 2_000, 20);
  for (const app of [fleet.a, fleet.b]) expect(app.app.get(CacheRegistry).byName('settings')!.stats.l2Errors).toBe(0);

  const { body, chat } = startUpdate();
  expect((await postUpdate(fleet.a, body)).status).toBe(200);
  expect((await postUpdate(fleet.b, body)).status).toBe(200);
  await eventually(async () => fleet.telegram.messages(chat).length, (count) => count >= 1, 10_000, 20);
  await request(fleet.a.baseUrl).get('/health/ready').expect(200);
}

interface FailoverRecord {
  cachedReads: number[];
  webhook: { status: number; elapsedMs: number }[];
  readiness: number[];
  chats: number[];
  /** When each chat's update was first sent: a first delivery that failed may still have stored its job. */
  firstSentAt: Map<number, number>;
  /** When the killed primary's process was gone. */
  killedAt: number;
}

/**
 * Traffic on both instances while `kill` takes the primary away and until everything answers again:
 * cached reads on B, webhooks on A (an update answered 503 is sent again, as Telegram does), readiness on A.
 */
async function throughFailover(fleet: Fleet, setting: string, kill: () => Promise<void>, recovered: () => Promise<void>): Promise<FailoverRecord> {
  const record: FailoverRecord = { cachedReads: [], webhook: [], readiness: [], chats: [], firstSentAt: new Map(), killedAt: 0 };
  await getSetting(fleet.b, setting).expect(200);
  let stop = false;
  let switched = false;
  let webhooksAfterSwitch = 0;
  const reads = (async () => {
    while (!stop) {
      record.cachedReads.push((await getSetting(fleet.b, setting)).status);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const probes = (async () => {
    while (!stop) {
      record.readiness.push((await request(fleet.a.baseUrl).get('/health/ready')).status);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  const webhooks = (async () => {
    while (!stop) {
      const { body, chat } = startUpdate();
      record.chats.push(chat);
      record.firstSentAt.set(chat, Date.now());
      for (;;) {
        const started = Date.now();
        const { status } = await postUpdate(fleet.a, body);
        record.webhook.push({ status, elapsedMs: Date.now() - started });
        if (status === 200) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      if (switched) webhooksAfterSwitch += 1;
    }
  })();
  await new Promise((resolve) => setTimeout(resolve, 300));
  await kill();
  record.killedAt = Date.now();
  await recovered();
  switched = true;
  await eventually(
    async () => ({ webhooks: webhooksAfterSwitch, ready: record.readiness.at(-1) }),
    (state) => state.webhooks >= 3 && state.ready === 200,
    FAILOVER_WITHIN_MS,
    100,
  );
  stop = true;
  await Promise.all([reads, probes, webhooks]);
  return record;
}

/** What must hold after a failover: fail-open reads, bounded 503s, readiness down then up, every update answered once. */
async function expectRecovered(fleet: Fleet, record: FailoverRecord, setting: string): Promise<void> {
  expect(record.cachedReads.filter((status) => status !== 200)).toEqual([]);
  expect(record.webhook.filter(({ status }) => status !== 200 && status !== 503)).toEqual([]);
  const slowest = Math.max(...record.webhook.map(({ elapsedMs }) => elapsedMs));
  expect(slowest).toBeLessThanOrEqual(ANSWER_BUDGET_MS);
  expect(record.readiness).toContain(503);
  expect(record.readiness.at(-1)).toBe(200);
  await eventually(
    async () => record.chats.filter((chat) => fleet.telegram.messages(chat).length === 0),
    (unanswered) => unanswered.length === 0,
    ANSWERED_WITHIN_MS,
    20,
  );
  // Nothing first sent after the kill is answered twice. A job running when its primary died may run
  // again (its completion, or the primary's record of it, is gone), and so may the job of an update
  // first sent just before the kill, stored and run there though its delivery was answered 503 (the
  // redelivery finds that job on the promoted replica): at least once, never lost.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const twice = record.chats.filter((chat) => fleet.telegram.messages(chat).length > 1);
  expect(twice.filter((chat) => record.firstSentAt.get(chat)! >= record.killedAt)).toEqual([]);
  expect(fleet.telegram.messages().filter((message) => message.text !== HELP_TEXT)).toEqual([]);
  // The bus works again: a write on A is what B answers next.
  await putSetting(fleet.a, setting, true);
  await eventually(async () => (await getSetting(fleet.b, setting)).body, (body) => body.enabled === true, 5_000, 20);
}

describe('on a Redis Cluster (3 primaries, 3 replicas)', () => {
  let cluster: RedisClusterUnderTest;
  let fleet: Fleet;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    fleet = await startFleet({ REDIS_CLUSTER_NODES: cluster.seeds });
  }, TOPOLOGY_START_MS);
  afterAll(async () => {
    await stopFleet(fleet);
    await cluster?.stop();
  });

  it('serves: cache entries with their tag indexes and generation in one slot, the bus across nodes, the queue under a hash tag', async () => {
    expect(fleet.a.config.queue.prefix).toBe(`{bull:${fleet.a.config.cache.keyPrefix}}`);
    await servesNormally(fleet, 'cluster_serving');
  });

  it('keeps a pending request, its delivery claim and its kept result in one slot: delivered, they go together', async () => {
    const store = fleet.a.app.get(PendingRequestStore);
    const redis = fleet.a.app.get<RedisConnection>(REDIS_CLIENT);
    const id = `telegram-${Date.now()}-cluster`;
    await store.store(id, { chatId: 1, messageId: 2, prompt: 'p', originalWasAudio: false, createdAt: new Date().toISOString(), botId: null });
    expect(await store.claimDelivery(id, 'first', 60)).toBe(true);
    expect(await store.claimDelivery(id, 'second', 60)).toBe(false);
    await store.completeDelivery(id);
    // DEL of the entry and its claim in one command: refused as CROSSSLOT (and only logged) unless they share a slot.
    expect(await redis.exists(pendingRequestKey(id))).toBe(0);
    expect(await redis.exists(deliveryClaimKey(id))).toBe(0);
  });

  it('clears a namespace by scanning only the node that owns its slot', async () => {
    await putSetting(fleet.a, 'cluster_clear', true);
    await getSetting(fleet.a, 'cluster_clear').expect(200);
    const answer = await request(fleet.a.baseUrl).post('/admin/cache/invalidate').set(ADMIN).send({ namespaces: ['settings'] }).expect(200);
    expect(answer.body).toMatchObject({ namespaces: ['settings'], l2Deferred: false, published: true });
    expect(answer.body.l2Removed).toBeGreaterThan(0);
  });

  it('the node holding a subscription SIGKILLed: that instance empties its L1, resubscribes elsewhere and hears the fleet again', async () => {
    const channel = fleet.a.config.cache.invalidationChannel;
    let holder: RedisNode | undefined;
    // Classic pub/sub counts subscribers per node: NUMSUB on a node says who listens there.
    for (const node of cluster.nodes.filter((candidate) => candidate.alive)) {
      const client = new Redis(node.port, '127.0.0.1');
      const [, subscribers] = (await client.pubsub('NUMSUB', channel).finally(() => client.disconnect())) as [string, number];
      if (Number(subscribers) > 0) holder = node;
    }
    expect(holder).toBeDefined();
    const emptied = (app: TestApp) => app.logs.lines.filter((line) => String(line.msg).includes('again after a gap: cleared L1')).length;
    const before = { a: emptied(fleet.a), b: emptied(fleet.b) };
    await holder!.kill();
    // Each instance that listened there goes silent within two heartbeats and clears L1 once its echo returns.
    await eventually(async () => emptied(fleet.a) + emptied(fleet.b), (count) => count > before.a + before.b, FAILOVER_WITHIN_MS, 50);
    await cluster.waitUntilHealthy();
    for (const [writer, reader] of [
      [fleet.a, fleet.b],
      [fleet.b, fleet.a],
    ] as const) {
      await putSetting(writer, 'cluster_bus', false);
      await getSetting(reader, 'cluster_bus').expect(200);
      await putSetting(writer, 'cluster_bus', true);
      await eventually(async () => (await getSetting(reader, 'cluster_bus')).body, (body) => body.enabled === true, 5_000, 20);
    }
    // Back as a replica, so the next failover has one to promote.
    await cluster.revive(holder!);
  }, FAILOVER_TEST_MS);

  it('a primary SIGKILLed under load: cached reads answer, webhooks 503 within budget, all recovers without a restart', async () => {
    const queueSlotKey = `${fleet.a.config.queue.prefix}:telegram-updates:id`;
    const victim = await cluster.primaryOf(queueSlotKey);
    const record = await throughFailover(
      fleet,
      'cluster_failover',
      () => victim.kill(),
      async () => {
        await cluster.waitUntilHealthy(queueSlotKey);
        expect((await cluster.primaryOf(queueSlotKey)).port).not.toBe(victim.port);
      },
    );
    await expectRecovered(fleet, record, 'cluster_failover');
  }, FAILOVER_TEST_MS);
});

describe('on a Sentinel-managed primary (1 replica, 3 sentinels)', () => {
  let sentinel: RedisSentinelUnderTest;
  let fleet: Fleet;

  beforeAll(async () => {
    sentinel = await startRedisSentinel();
    fleet = await startFleet({ REDIS_SENTINELS: sentinel.sentinels, REDIS_SENTINEL_NAME: sentinel.name });
  }, TOPOLOGY_START_MS);
  afterAll(async () => {
    await stopFleet(fleet);
    await sentinel?.stop();
  });

  it('serves through the primary the sentinels name', async () => {
    await servesNormally(fleet, 'sentinel_serving');
  });

  it('the primary SIGKILLed under load: the replica is promoted and used, L1 emptied, all recovers without a restart', async () => {
    const primary = await sentinel.primary();
    const silencesBefore = fleet.b.logs.lines.filter((line) => String(line.msg).includes('is silent')).length;
    const record = await throughFailover(
      fleet,
      'sentinel_failover',
      () => primary.kill(),
      async () => {
        await sentinel.waitForNewPrimary(primary);
      },
    );
    // B's subscription went down with the primary: it stopped trusting its L1 and emptied it on resubscribing.
    expect(fleet.b.logs.lines.filter((line) => String(line.msg).includes('is silent')).length).toBeGreaterThan(silencesBefore);
    expect(fleet.b.logs.lines.some((line) => String(line.msg).includes('answers again'))).toBe(true);
    await expectRecovered(fleet, record, 'sentinel_failover');
  }, FAILOVER_TEST_MS);
});
