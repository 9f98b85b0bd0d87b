import { Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { loadConfig } from '@app/config';
import { createJobQueue, defineQueue, QueueUnavailableError, type JobQueue } from '@app/queue';
import { openRedis, type RedisConnection } from '@app/redis';
import { pollUntil } from './support/poll';
import { startRedisSentinel, type RedisNode, type RedisSentinelUnderTest } from './support/redis-topologies';

interface Work {
  label: string;
}

/**
 * With replicas, what the at-most-once forward relies on must be on a replica before the effect
 * it guards: a begun mark that a primary takes with it when it dies lets the job's next run (on
 * the promoted replica) find no mark and forward the same update again (docs/redis.md, failover).
 * Watched with MONITOR on a real Sentinel-managed primary.
 */
/** Runs `work` with `node` stopped (SIGSTOP): its connections stay open, and it answers and acknowledges nothing. */
async function whileFrozen<T>(node: RedisNode, work: () => Promise<T>): Promise<T> {
  node.process.kill('SIGSTOP');
  try {
    return await work();
  } finally {
    node.process.kill('SIGCONT');
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a begun mark on a primary with a replica', () => {
  let sentinel: RedisSentinelUnderTest;
  let commands: RedisConnection;
  let monitor: Redis;
  let queue: JobQueue<Work>;
  let config: ReturnType<typeof loadConfig>;
  let otherCommands: RedisConnection | undefined;
  const queues: JobQueue<Work>[] = [];
  const seen: string[][] = [];
  /** A queue of its own for a test: a queue has one handler. */
  const queueNamed = async (name: string, connection: RedisConnection = commands) => {
    const created = await createJobQueue(defineQueue<Work>({ name, description: 'test work', attempts: 1 }), config, connection);
    queues.push(created);
    return created;
  };

  beforeAll(async () => {
    Logger.overrideLogger(['error', 'warn']);
    sentinel = await startRedisSentinel();
    config = loadConfig({
      NODE_ENV: 'test',
      REDIS_SENTINELS: sentinel.sentinels,
      REDIS_SENTINEL_NAME: sentinel.name,
      QUEUE_PREFIX: 'replication',
    });
    commands = openRedis(config.redis!, 'test-commands');
    const primary = await sentinel.primary();
    const watcher = new Redis({ port: primary.port, host: '127.0.0.1' });
    monitor = await watcher.monitor();
    await watcher.quit();
    monitor.on('monitor', (_time: string, args: string[]) => seen.push(args));
    queue = await queueNamed('work');
  }, 90_000);
  afterAll(async () => {
    for (const created of queues) {
      await created.stopProcessing(1_000);
      await created.close();
    }
    monitor?.disconnect();
    commands?.disconnect();
    otherCommands?.disconnect();
    await sentinel?.stop();
  });

  it('is confirmed by a replica (WAIT 1) before begin answers that the effect may go ahead', async () => {
    const began: boolean[] = [];
    queue.process(async (job) => {
      const first = await job.begin('call');
      // On the same connection, after begin's answer: MONITOR shows it after whatever begin sent.
      await commands.ping('begin answered');
      began.push(first);
    });
    await queue.add({ label: 'forward' });
    await pollUntil(async () => began.length, (count) => count === 1, 10_000, 20);
    expect(began).toEqual([true]);

    const markedAt = seen.findIndex((args) => args.some((arg) => arg === 'begun:call'));
    const answered = await pollUntil(
      async () => seen.findIndex((args) => args.join(' ').toLowerCase() === 'ping begin answered'),
      (index) => index >= 0,
      5_000,
      20,
    );
    const answeredAt = answered.value;
    expect(markedAt).toBeGreaterThanOrEqual(0);
    const between = seen.slice(markedAt + 1, answeredAt).map((args) => args.join(' ').toLowerCase());
    expect(between.filter((command) => /^wait 1 \d+$/.test(command))).toHaveLength(1);
  }, 30_000);

  it('holds the call while the replica, online but frozen, has not confirmed the mark, and makes it once the replica has it', async () => {
    const gated = await queueNamed('gated');
    let reachedBegin!: () => void;
    const atBegin = new Promise<void>((resolve) => (reachedBegin = resolve));
    let mayBegin!: () => void;
    const gate = new Promise<void>((resolve) => (mayBegin = resolve));
    const began: boolean[] = [];
    gated.process(async (job) => {
      reachedBegin();
      await gate;
      began.push(await job.begin('call'));
    });
    await gated.add({ label: 'forward' });
    await atBegin;
    const replica = await sentinel.replica();
    await whileFrozen(replica, async () => {
      mayBegin();
      // Three times the WAIT's budget: the old code went ahead after one.
      await sleep(1_500);
      expect(began).toEqual([]);
    });
    await pollUntil(async () => began.length, (count) => count === 1, 10_000, 20);
    expect(began).toEqual([true]);
  }, 30_000);

  it('refuses a job a frozen replica has not confirmed, and its redelivery, until the replica has it', async () => {
    const refusing = await queueNamed('refusing');
    // The redelivery reaches another instance, whose connections never wrote the job.
    otherCommands = openRedis(config.redis!, 'test-other-instance');
    const elsewhere = await queueNamed('refusing', otherCommands);
    const once = { id: `update-${Date.now()}`, ttlSeconds: 60 };
    const replica = await sentinel.replica();
    await whileFrozen(replica, async () => {
      await expect(refusing.add({ label: 'update' }, { once })).rejects.toThrow(QueueUnavailableError);
      // The job is on the primary alone; a redelivery answered "duplicate" now would be acknowledged with it.
      await expect(elsewhere.add({ label: 'update' }, { once })).rejects.toThrow(/did not confirm the job under once id/);
      expect(await refusing.depth()).toMatchObject({ waiting: 1 });
    });
    await expect(elsewhere.add({ label: 'update' }, { once })).resolves.toEqual({ status: 'duplicate' });
    expect(await refusing.depth()).toMatchObject({ waiting: 1 });
  }, 30_000);

  it('acknowledges jobs unreplicated when no replica is online, as one server would', async () => {
    const alone = await queueNamed('alone');
    await (await sentinel.replica()).kill();
    await expect(alone.add({ label: 'first' })).resolves.toMatchObject({ status: 'queued' });
    await expect(alone.add({ label: 'second' }, { once: { id: `alone-${Date.now()}`, ttlSeconds: 60 } })).resolves.toMatchObject({ status: 'queued' });
    expect(await alone.depth()).toMatchObject({ waiting: 2 });
  }, 30_000);
});
