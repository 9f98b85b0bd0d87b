import { randomUUID } from 'node:crypto';
import { CacheRegistry, defineCacheNamespace } from '@app/cache';
import { withTimeout } from '@app/common';
import { loadConfig } from '@app/config';
import { openRedis, type RedisConnection } from '@app/redis';
import { removeRedisKeys } from './support/redis-keys';
import { untilReady } from './support/redis-server';
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

/**
 * A budget that runs out while the process itself is stalled is not a slow Redis: the reply that
 * arrived meanwhile is taken, though the event loop runs the expired timer before it reads the
 * socket. A reply that has not come still fails the budget. Each stall starts once the tick that issued
 * the command has ended: a stall inside that tick delays the send itself, which no budget can tell from
 * a slow Redis (docs/caching.md, "Failure behaviour").
 */
describe('Redis budgets across a stalled event loop', () => {
  const opened: RedisConnection[] = [];
  const prefix = `stall-${randomUUID().slice(0, 8)}`;

  // The connection as the app opens it: its commands leave when their tick ends, before each stall.
  const connect = async (): Promise<RedisConnection> => {
    const redis = openRedis({ kind: 'standalone', url: testRedisUrl() }, 'stall-test');
    opened.push(redis);
    await untilReady(redis);
    return redis;
  };

  afterAll(async () => {
    await removeRedisKeys(testRedisUrl(), prefix);
    await Promise.all(opened.map((redis) => redis.quit()));
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
