import { randomUUID } from 'node:crypto';
import { CacheRegistry, defineCacheNamespace } from '@app/cache';
import { withTimeout } from '@app/common';
import { loadConfig } from '@app/config';
import { openRedis, type RedisConnection } from '@app/redis';
import type { Cluster } from 'ioredis';
import { removeRedisKeys } from './support/redis-keys';
import { untilReady } from './support/redis-server';
import { startRedisCluster, type RedisClusterUnderTest } from './support/redis-topologies';
import { testRedisUrl } from './support/test-app';

/** A budget far shorter than the stall, as the production L2 budget (50 ms) is shorter than a long collection. */
const BUDGET_MS = 20;
/** Long enough for Redis to have answered during it, on a loaded machine too. */
const STALL_MS = 500;

/** Blocks the event loop, as a long garbage collection or a starved CPU does. */
function stall(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // Spinning is the point: nothing else may run meanwhile.
  }
}

/** Lets the tick end, so that a command issued in it has been written to its socket. */
const endOfTick = () => new Promise((resolve) => process.nextTick(resolve));

const opened: RedisConnection[] = [];

/**
 * A connection as the app opens it — its commands leave when their tick ends, before each stall —
 * with `commandTimeout` as the app's command connection has one.
 */
async function connect(commandTimeout?: number): Promise<RedisConnection> {
  const redis = openRedis({ kind: 'standalone', url: testRedisUrl() }, 'stall-test', { commandTimeout });
  opened.push(redis);
  await untilReady(redis);
  return redis;
}

// Disconnected rather than quit: a connection whose BLPOP timed out is still blocked in Redis.
afterAll(() => {
  for (const redis of opened) redis.disconnect();
});

/**
 * A budget that runs out while the process itself is stalled is not a slow Redis: the reply that
 * arrived meanwhile is taken, though the event loop runs the expired timer before it reads the
 * socket. A reply that has not come still fails the budget. Each stall starts once the tick that issued
 * the command has ended: a stall inside that tick delays the send itself, which no budget can tell from
 * a slow Redis (docs/caching.md, "Failure behaviour").
 */
describe('Redis budgets across a stalled event loop', () => {
  const prefix = `stall-${randomUUID().slice(0, 8)}`;

  afterAll(async () => {
    await removeRedisKeys(testRedisUrl(), prefix);
  });

  it('takes a reply that arrived during a stall longer than the budget', async () => {
    const redis = await connect();
    const budgeted = withTimeout(redis.ping(), BUDGET_MS, () => new Error(`timed out after ${BUDGET_MS} ms`));
    await endOfTick();
    stall(STALL_MS);

    await expect(budgeted).resolves.toBe('PONG');
  });

  it('still fails a reply that has not come when the budget is judged', async () => {
    const redis = await connect();
    const blocked = await connect();
    const started = Date.now();
    // BLPOP on an empty list answers only after its own 1 s: nothing arrives within the budget.
    const budgeted = withTimeout(blocked.blpop(`${prefix}:empty`, 1), BUDGET_MS, () => new Error(`timed out after ${BUDGET_MS} ms`));

    await expect(budgeted).rejects.toThrow(`timed out after ${BUDGET_MS} ms`);
    expect(Date.now() - started).toBeLessThan(500);
    expect(await redis.ping()).toBe('PONG');
  });

  it('serves an L2 entry read during a stall, counting no L2 error', async () => {
    const config = loadConfig({ NODE_ENV: 'test', CACHE_KEY_PREFIX: prefix, CACHE_L2_TIMEOUT_MS: String(BUDGET_MS) });
    const namespace = defineCacheNamespace({ name: 'stalled', ttl: 60_000, description: 'test: L2 reads across a stall' });
    const writer = new CacheRegistry(config, await connect()).namespace(namespace);
    const reader = new CacheRegistry(config, await connect()).namespace(namespace);
    await writer.set('entry', { written: 'before the stall' });

    const read = reader.get('entry');
    await endOfTick();
    stall(STALL_MS);

    await expect(read).resolves.toEqual({ written: 'before the stall' });
    expect(reader.stats.l2Errors).toBe(0);
    expect(reader.stats.l2Hits).toBe(1);
  });
});

/**
 * The same for ioredis' own `commandTimeout`, which the app's command connection carries
 * (`REDIS_COMMAND_TIMEOUT_MS`): ioredis arms a timer per command and, after a stall past it, failed
 * with "Command timed out" a command Redis had answered — one it had also carried out, as an INCR
 * here (docs/redis.md, "Command timeouts across a stalled process").
 */
describe("a Redis command's own timeout across a stalled event loop", () => {
  /**
   * Shorter than the stall, long enough that a Redis slowed by a loaded machine (a fresh Cluster's
   * first writes among them) does not run it out on the commands around the stall.
   */
  const COMMAND_TIMEOUT_MS = 200;
  const prefix = `stall-own-${randomUUID().slice(0, 8)}`;
  let cluster: RedisClusterUnderTest | undefined;
  let clusterClient: Cluster | undefined;

  afterAll(async () => {
    await removeRedisKeys(testRedisUrl(), prefix);
    clusterClient?.disconnect();
    await cluster?.stop();
  });

  it('takes the reply of a command Redis carried out during a stall longer than the timeout', async () => {
    const redis = await connect(COMMAND_TIMEOUT_MS);
    const incremented = redis.incr(`${prefix}:counter`);
    await endOfTick();
    stall(STALL_MS);

    await expect(incremented).resolves.toBe(1);
    expect(await (await connect()).get(`${prefix}:counter`)).toBe('1');
  });

  it('still fails a command whose reply has not come, once the socket has been read', async () => {
    const blocked = await connect(COMMAND_TIMEOUT_MS);
    const started = Date.now();

    // BLPOP on an empty list answers only after its own 2 s.
    await expect(blocked.blpop(`${prefix}:empty`, 2)).rejects.toThrow('Command timed out');
    expect(Date.now() - started).toBeLessThan(COMMAND_TIMEOUT_MS + 500);
  });

  it('leaves no timer behind once a command is answered', async () => {
    const redis = await connect(60_000);
    await redis.ping();
    const timers = () => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
    const before = timers();

    await Promise.all(Array.from({ length: 20 }, () => redis.ping()));

    // Not more than before: a timer left per command would add twenty.
    expect(timers()).toBeLessThanOrEqual(before);
  });

  it("takes the reply that arrived during a stall on a Cluster node's connection", async () => {
    cluster = await startRedisCluster();
    const nodes = cluster.nodes.map((node) => ({ host: '127.0.0.1', port: node.port }));
    const client = openRedis({ kind: 'cluster', nodes, password: undefined, tls: false }, 'stall-test', { commandTimeout: COMMAND_TIMEOUT_MS }) as Cluster;
    clusterClient = client;
    client.on('error', () => undefined);
    await untilReady(client);
    const keys = Array.from({ length: 12 }, (_, index) => `${prefix}:cluster-${index}`);
    // Every node's connection opened and warm, so the stall meets commands already written.
    await Promise.all(keys.map((key) => client.set(key, '0')));

    const incremented = Promise.all(keys.map((key) => client.incr(key)));
    await endOfTick();
    stall(STALL_MS);

    await expect(incremented).resolves.toEqual(keys.map(() => 1));
  }, 60_000);
});
