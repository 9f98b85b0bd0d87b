import { Logger } from '@nestjs/common';
import { loadConfig } from '@app/config';
import { createJobQueue, defineQueue, QueueUnavailableError, type JobQueue } from '@app/queue';
import { openRedis, type RedisConnection } from '@app/redis';
import { pollUntil } from './support/poll';
import { watchCommands, type CommandFeed } from './support/redis-command-feed';
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
  let monitor: CommandFeed;
  let queue: JobQueue<Work>;
  let config: ReturnType<typeof loadConfig>;
  let otherCommands: RedisConnection | undefined;
  const queues: JobQueue<Work>[] = [];
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
    // As the app opens its shared command connection: a command's answer is bounded.
    commands = openRedis(config.redis!, 'test-commands', { commandTimeout: config.redisCommandTimeoutMs });
    const primary = await sentinel.primary();
    monitor = await watchCommands(primary);
    queue = await queueNamed('work');
  }, 90_000);
  afterAll(async () => {
    for (const created of queues) {
      await created.stopProcessing(1_000);
      await created.close();
    }
    monitor?.close();
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

    const markedAt = monitor.commands.findIndex((args) => args.some((arg) => arg === 'begun:call'));
    const answered = await pollUntil(
      async () => monitor.commands.findIndex((args) => args.join(' ').toLowerCase() === 'ping begin answered'),
      (index) => index >= 0,
      5_000,
      20,
    );
    const answeredAt = answered.value;
    expect(markedAt).toBeGreaterThanOrEqual(0);
    const between = monitor.commands.slice(markedAt + 1, answeredAt).map((args) => args.join(' ').toLowerCase());
    expect(between.filter((command) => /^wait 1 \d+$/.test(command))).toHaveLength(1);
  }, 30_000);

  it('holds the calls while the replica, online but frozen, has not confirmed their marks, and makes each once the replica has it', async () => {
    const gated = await queueNamed('gated');
    // As many as the worker runs at once: each reaches its begin before any may go on.
    const calls = config.queue.concurrency;
    let arrived = 0;
    let allArrived!: () => void;
    const atBegin = new Promise<void>((resolve) => (allArrived = resolve));
    let mayBegin!: () => void;
    const gate = new Promise<void>((resolve) => (mayBegin = resolve));
    const began: boolean[] = [];
    const failed: string[] = [];
    gated.process(async (job) => {
      if ((arrived += 1) === calls) allArrived();
      await gate;
      await job.begin('call').then(
        (first) => began.push(first),
        (error: Error) => failed.push(error.message),
      );
    });
    for (let index = 0; index < calls; index += 1) await gated.add({ label: `forward ${index}` });
    await atBegin;
    const replica = await sentinel.replica();
    await whileFrozen(replica, async () => {
      mayBegin();
      // Three times a round's wait: the code before went ahead after one. Its waits stacked on the
      // shared connection would also have run past its command timeout and failed the later begins.
      await sleep(1_500);
      expect({ began, failed }).toEqual({ began: [], failed: [] });
      // The shared connection is not held behind a wait.
      await expect(commands.ping()).resolves.toBe('PONG');
    });
    await pollUntil(async () => began.length + failed.length, (count) => count === calls, 10_000, 20);
    expect({ began, failed }).toEqual({ began: Array(calls).fill(true), failed: [] });
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
    // The replica catches up within a round or a few once it runs again.
    const redelivered = await pollUntil(
      () => elsewhere.add({ label: 'update' }, { once }).catch((error: Error) => ({ status: error.message })),
      (answer) => answer.status === 'duplicate',
      5_000,
      100,
    );
    expect(redelivered.value).toEqual({ status: 'duplicate' });
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
