import { Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { loadConfig } from '@app/config';
import { createJobQueue, defineQueue, type JobQueue } from '@app/queue';
import { openRedis, type RedisConnection } from '@app/redis';
import { pollUntil } from './support/poll';
import { startRedisSentinel, type RedisSentinelUnderTest } from './support/redis-topologies';

interface Work {
  label: string;
}

/**
 * With replicas, what the at-most-once forward relies on must be on a replica before the effect
 * it guards: a begun mark that a primary takes with it when it dies lets the job's next run (on
 * the promoted replica) find no mark and forward the same update again (docs/redis.md, failover).
 * Watched with MONITOR on a real Sentinel-managed primary.
 */
describe('a begun mark on a primary with a replica', () => {
  let sentinel: RedisSentinelUnderTest;
  let commands: RedisConnection;
  let monitor: Redis;
  let queue: JobQueue<Work>;
  const seen: string[][] = [];

  beforeAll(async () => {
    Logger.overrideLogger(['error', 'warn']);
    sentinel = await startRedisSentinel();
    const config = loadConfig({
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
    queue = await createJobQueue(defineQueue<Work>({ name: 'work', description: 'test work', attempts: 1 }), config, commands);
  }, 90_000);
  afterAll(async () => {
    await queue?.stopProcessing(1_000);
    await queue?.close();
    monitor?.disconnect();
    commands?.disconnect();
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
    expect(between).toContain('wait 1 200');
  }, 30_000);
});
