import { randomUUID } from 'node:crypto';
import { Logger, type LoggerService } from '@nestjs/common';
import { Queue, Worker } from 'bullmq';
import Redis from 'ioredis';
import { loadConfig } from '@app/config';
import { finishClosing } from '../libs/queue/src/bullmq-job-queue';
import {
  BullJobQueue,
  createJobQueue,
  defineQueue,
  onceKey,
  PermanentJobError,
  QueueUnavailableError,
  RetryLaterError,
  type Job,
  type JobQueue,
  type QueueDepth,
} from '@app/queue';
import { ResettingThenSilentServer } from './support/faults/resetting-then-silent-server';
import { pollUntil } from './support/poll';
import { removeRedisKeys } from './support/redis-keys';
import { testRedisUrl } from './support/test-app';

interface Work {
  label: string;
}

/** Collects what the queues log, by level. */
class CapturedLogs implements LoggerService {
  readonly lines: { level: string; message: string }[] = [];
  log(message: unknown): void {
    this.lines.push({ level: 'log', message: String(message) });
  }
  warn(message: unknown): void {
    this.lines.push({ level: 'warn', message: String(message) });
  }
  error(message: unknown): void {
    this.lines.push({ level: 'error', message: String(message) });
  }
  debug(message: unknown): void {
    this.lines.push({ level: 'debug', message: String(message) });
  }
  verbose(): void {}
}

const logs = new CapturedLogs();
Logger.overrideLogger(logs);

/** Resolves when `count` values have been pushed, rejects after `withinMs`. */
class Recorder<T> {
  readonly values: T[] = [];
  private readonly waiters = new Set<() => void>();

  push(value: T): void {
    this.values.push(value);
    for (const waiter of [...this.waiters]) waiter();
  }

  async waitFor(count: number, withinMs = 5_000): Promise<T[]> {
    if (this.values.length >= count) return this.values;
    await new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (this.values.length < count) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`expected ${count} values within ${withinMs} ms, got ${this.values.length}`));
      }, withinMs);
      this.waiters.add(check);
    });
    return this.values;
  }
}

/** The latest a 100 ms timer fired over `ms`, in milliseconds past its due time: how starved the event loop was. */
async function latestTimerOver(ms: number): Promise<number> {
  let lateMs = 0;
  for (let elapsed = 0; elapsed < ms; elapsed += 100) {
    const due = Date.now() + 100;
    await new Promise((resolve) => setTimeout(resolve, 100));
    lateMs = Math.max(lateMs, Date.now() - due);
  }
  return lateMs;
}

type Mode = 'redis' | 'in-process';

/** Prefixes used in this file: their keys are removed at the end. */
const prefixes = new Set<string>();
/** The app's shared command connection, as `REDIS_CLIENT` would be. */
let commands: Redis;

beforeAll(() => {
  commands = new Redis(testRedisUrl());
});

afterAll(async () => {
  await commands.quit();
  for (const prefix of prefixes) await removeRedisKeys(testRedisUrl(), `${prefix}:`);
});

function queueFor(mode: Mode, prefix = `t-${randomUUID().slice(0, 8)}`, env: Record<string, string> = {}): Promise<JobQueue<Work>> {
  prefixes.add(prefix);
  const definition = defineQueue<Work>({ name: 'work', description: 'test work', attempts: 3 });
  const config = loadConfig({
    NODE_ENV: 'test',
    REDIS_URL: mode === 'redis' ? testRedisUrl() : undefined,
    QUEUE_PREFIX: prefix,
    QUEUE_RETRY_DELAY_MS: '20',
    QUEUE_CONCURRENCY: '2',
    ...env,
  });
  return createJobQueue(definition, config, mode === 'redis' ? commands : null);
}

describe.each<Mode>(['redis', 'in-process'])('JobQueue (%s)', (mode) => {
  const opened: JobQueue<Work>[] = [];
  const open = async (prefix?: string) => {
    const queue = await queueFor(mode, prefix);
    opened.push(queue);
    return queue;
  };

  beforeEach(() => {
    logs.lines.length = 0;
  });
  afterEach(async () => {
    for (const queue of opened.splice(0)) {
      await queue.stopProcessing(1_000);
      await queue.close();
    }
  });

  it('runs a job with a copy of its data', async () => {
    const queue = await open();
    const seen = new Recorder<Job<Work>>();
    queue.process(async (job) => seen.push(job));
    const data = { label: 'first' };
    const added = await queue.add(data);
    data.label = 'changed after add';

    const [job] = await seen.waitFor(1);
    expect(added).toEqual({ status: 'queued', jobId: job.id });
    expect(job).toMatchObject({ data: { label: 'first' }, attempt: 1, maxAttempts: 3, isFinalAttempt: false });
    expect(queue.durable).toBe(mode === 'redis');
  });

  it('retries a failing job twice with a growing delay, then logs it as failed for good', async () => {
    const queue = await open();
    const attempts = new Recorder<{ attempt: number; final: boolean; at: number }>();
    queue.process(async (job) => {
      attempts.push({ attempt: job.attempt, final: job.isFinalAttempt, at: Date.now() });
      throw new Error(`boom ${job.attempt}`);
    });
    const added = await queue.add({ label: 'doomed' });
    const jobId = added.status === 'queued' ? added.jobId : '';

    await attempts.waitFor(3);
    const failedForGood = `Job ${jobId} of queue work failed for good after 3 of 3 attempt(s): Error: boom 3`;
    await pollUntil(async () => logs.lines.some((line) => line.message === failedForGood), Boolean, 2_000, 20);
    expect(attempts.values.map(({ attempt, final }) => [attempt, final])).toEqual([
      [1, false],
      [2, false],
      [3, true],
    ]);
    // 20 ms, then 40 ms (BullMQ's exponential backoff); lower bounds only, never an upper one.
    expect(attempts.values[1].at - attempts.values[0].at).toBeGreaterThanOrEqual(19);
    expect(attempts.values[2].at - attempts.values[1].at).toBeGreaterThanOrEqual(39);
    expect(logs.lines.filter((line) => line.message.startsWith(`Job ${jobId} `) && line.level !== 'debug')).toEqual([
      { level: 'warn', message: `Job ${jobId} of queue work failed attempt 1 of 3, retrying in 20 ms: Error: boom 1` },
      { level: 'warn', message: `Job ${jobId} of queue work failed attempt 2 of 3, retrying in 40 ms: Error: boom 2` },
      { level: 'error', message: failedForGood },
    ]);
  });

  it('keeps a step result across attempts: the step runs once, later attempts get its result', async () => {
    const queue = await open();
    let stepRuns = 0;
    const results = new Recorder<string>();
    queue.process(async (job) => {
      const value = await job.step('effect', async () => {
        stepRuns += 1;
        return `done in attempt ${job.attempt}`;
      });
      results.push(value);
      if (job.attempt < 3) throw new Error('fail after the step');
    });
    await queue.add({ label: 'stepped' });

    expect(await results.waitFor(3)).toEqual(['done in attempt 1', 'done in attempt 1', 'done in attempt 1']);
    expect(stepRuns).toBe(1);
  });

  it('marks an effect begun once over all attempts: true for the first begin, false for every later one', async () => {
    const queue = await open();
    const begun = new Recorder<boolean>();
    queue.process(async (job) => {
      begun.push(await job.begin('call'));
      throw new Error('cut short after the call began');
    });
    await queue.add({ label: 'at most once' });
    expect(await begun.waitFor(3)).toEqual([true, false, false]);
  });

  it('does not retry a PermanentJobError', async () => {
    const queue = await open();
    const attempts = new Recorder<number>();
    queue.process(async (job) => {
      attempts.push(job.attempt);
      throw new PermanentJobError('cannot ever work');
    });
    const added = await queue.add({ label: 'permanent' });
    const jobId = added.status === 'queued' ? added.jobId : '';
    await attempts.waitFor(1);
    const line = `Job ${jobId} of queue work failed for good after 1 of 3 attempt(s)`;
    await pollUntil(async () => logs.lines.some((entry) => entry.message.startsWith(line)), Boolean, 2_000, 20);
    expect(logs.lines.find((entry) => entry.message.startsWith(line))?.level).toBe('error');
    expect(attempts.values).toEqual([1]);
  });

  it('adds a job with a once id only once', async () => {
    const queue = await open();
    const once = { id: `update:${randomUUID()}`, ttlSeconds: 60 };
    expect((await queue.add({ label: 'a' }, { once })).status).toBe('queued');
    expect(await queue.add({ label: 'b' }, { once })).toEqual({ status: 'duplicate' });
    expect((await queue.add({ label: 'c' }, { once: { ...once, id: `${once.id}-other` } })).status).toBe('queued');

    const seen = new Recorder<string>();
    queue.process(async (job) => seen.push(job.data.label));
    expect((await seen.waitFor(2)).sort()).toEqual(['a', 'c']);
  });

  it('counts jobs waiting before a worker runs, and the outcome of every attempt once one does', async () => {
    const queue = await open();
    await queue.add({ label: 'ok' });
    await queue.add({ label: 'flaky' });
    await queue.add({ label: 'doomed' });
    expect(await queue.depth()).toEqual({ waiting: 3, active: 0, delayed: 0 });
    expect(queue.outcomes).toEqual({ completed: 0, retried: 0, failed: 0 });

    const finished = new Recorder<string>();
    queue.process(async (job) => {
      if (job.data.label === 'doomed') {
        finished.push('doomed');
        throw new PermanentJobError('never works');
      }
      if (job.data.label === 'flaky' && job.attempt === 1) throw new Error('first attempt fails');
      finished.push(job.data.label);
    });
    await finished.waitFor(3);
    const settled = await pollUntil(
      async () => ({ ...queue.outcomes }),
      (outcomes) => outcomes.completed + outcomes.failed === 3,
      5_000,
      10,
    );
    expect(settled.value).toEqual({ completed: 2, retried: 1, failed: 1 });
    expect(await queue.depth()).toEqual({ waiting: 0, active: 0, delayed: 0 });
  });

  it('runs a job again after the delay it asked for, without using up an attempt, its steps kept', async () => {
    const queue = await open();
    const runs = new Recorder<{ attempt: number; at: number; step: string }>();
    queue.process(async (job) => {
      const step = await job.step('first', async () => `saved at run ${runs.values.length + 1}`);
      runs.push({ attempt: job.attempt, at: Date.now(), step });
      if (runs.values.length < 4) throw new RetryLaterError(30, 'Telegram asked to wait');
    });
    await queue.add({ label: 'rate limited' });

    const seen = await runs.waitFor(4);
    // Four runs of a job of three attempts: the asked-for waits are not attempts.
    expect(seen.map(({ attempt, step }) => [attempt, step])).toEqual([
      [1, 'saved at run 1'],
      [1, 'saved at run 1'],
      [1, 'saved at run 1'],
      [1, 'saved at run 1'],
    ]);
    for (let run = 1; run < 4; run += 1) expect(seen[run].at - seen[run - 1].at).toBeGreaterThanOrEqual(29);
    await pollUntil(async () => queue.outcomes.completed, (completed) => completed === 1, 2_000, 10);
    expect(queue.outcomes).toEqual({ completed: 1, retried: 3, failed: 0 });
  });

  it('lets a forgotten once id be added again', async () => {
    const queue = await open();
    queue.process(async () => undefined);
    const once = { id: `result:${randomUUID()}`, ttlSeconds: 60 };
    expect((await queue.add({ label: 'first' }, { once })).status).toBe('queued');
    expect(await queue.add({ label: 'again' }, { once })).toEqual({ status: 'duplicate' });
    await queue.forgetOnce(once.id);
    expect((await queue.add({ label: 'replayed' }, { once })).status).toBe('queued');
  });

  it('carries a 2 MB job (a whole agent output) to its handler intact', async () => {
    const prefix = `t-${randomUUID().slice(0, 8)}`;
    const queue = await open(prefix);
    const label = `${'0123456789abcdef\n"<>'.repeat(100_000)}end`;
    expect(Buffer.byteLength(label)).toBeGreaterThan(2_000_000);
    const added = await queue.add({ label });
    expect(added.status).toBe('queued');
    if (mode === 'redis' && added.status === 'queued') {
      // What one queued job of a 2 MB output costs in Redis (docs/redis.md): its JSON, escapes included,
      // as the allocator rounds it — 3.1 MB measured, under twice the output. SAMPLES 0 counts every
      // field of the job's hash: by default Redis estimates from 5 sampled fields, which may all miss `data`.
      const bytes = Number(await commands.call('MEMORY', 'USAGE', `${prefix}:work:${added.jobId}`, 'SAMPLES', '0'));
      expect(bytes).toBeGreaterThan(2_200_000);
      expect(bytes).toBeLessThan(2 * Buffer.byteLength(label));
    }
    const seen = new Recorder<string>();
    queue.process(async (job) => {
      await job.step('sent', async () => 'ok');
      seen.push(job.data.label);
    });
    const [received] = await seen.waitFor(1, 10_000);
    expect(received).toBe(label);
    await pollUntil(async () => queue.outcomes.completed, (completed) => completed === 1, 5_000, 10);
  });

  it('waits for a running job to finish when it stops', async () => {
    const queue = await open();
    const started = new Recorder<string>();
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let finished = false;
    queue.process(async () => {
      started.push('started');
      await released;
      finished = true;
    });
    await queue.add({ label: 'slow' });
    await started.waitFor(1);
    let stopped = false;
    const stopping = queue.stopProcessing(5_000).then(() => (stopped = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(finished).toBe(true);
  });
});

describe('JobQueue in Redis', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(testRedisUrl());
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('keeps a job queued while no worker runs, for the next process to run', async () => {
    const prefix = `t-${randomUUID().slice(0, 8)}`;
    const before = await queueFor('redis', prefix);
    await before.add({ label: 'survives' });
    await before.close();

    const after = await queueFor('redis', prefix);
    const seen = new Recorder<string>();
    after.process(async (job) => seen.push(job.data.label));
    try {
      expect(await seen.waitFor(1)).toEqual(['survives']);
    } finally {
      await after.stopProcessing(1_000);
      await after.close();
    }
  });

  it('never gives a job to a worker of another prefix sharing the Redis', async () => {
    const mine = await queueFor('redis');
    const theirs = await queueFor('redis');
    const mineSeen = new Recorder<string>();
    const theirsSeen = new Recorder<string>();
    mine.process(async (job) => mineSeen.push(job.data.label));
    theirs.process(async (job) => theirsSeen.push(job.data.label));
    try {
      for (let i = 0; i < 5; i += 1) await mine.add({ label: `mine-${i}` });
      await theirs.add({ label: 'theirs' });
      expect((await mineSeen.waitFor(5)).sort()).toEqual(['mine-0', 'mine-1', 'mine-2', 'mine-3', 'mine-4']);
      expect(await theirsSeen.waitFor(1)).toEqual(['theirs']);
    } finally {
      for (const queue of [mine, theirs]) {
        await queue.stopProcessing(1_000);
        await queue.close();
      }
    }
  });

  /** Settings that give a job whose worker is gone to another within about 1.5 s. */
  const fastStalls = { QUEUE_LOCK_DURATION_MS: '1000', QUEUE_STALLED_INTERVAL_MS: '500' };

  /**
   * A worker that starts the job (a step saved, an effect begun) and then dies as a killed process
   * does: its connections close and its lock is no longer renewed, with the job still running.
   */
  async function cutShort(prefix: string, env: Record<string, string>): Promise<void> {
    const first = await queueFor('redis', prefix, env);
    const started = new Recorder<string>();
    first.process(async (job) => {
      await job.step('before', async () => 'saved by the first run');
      await job.begin('call');
      started.push(job.id);
      await new Promise(() => undefined);
    });
    await first.add({ label: 'cut short' });
    await started.waitFor(1);
    await (first as unknown as { worker: Worker }).worker.close(true);
    await first.close();
  }

  it('gives a job whose worker stopped mid-run to another once its lock expires, with its steps and begun effects', async () => {
    const prefix = `t-${randomUUID().slice(0, 8)}`;
    await cutShort(prefix, fastStalls);
    const second = await queueFor('redis', prefix, fastStalls);
    const rerun = new Recorder<{ attempt: number; before: string; begun: boolean }>();
    second.process(async (job) => {
      rerun.push({ attempt: job.attempt, before: await job.step('before', async () => 'run again'), begun: await job.begin('call') });
    });
    try {
      expect(await rerun.waitFor(1, 10_000)).toEqual([{ attempt: 1, before: 'saved by the first run', begun: false }]);
    } finally {
      await second.stopProcessing(1_000);
      await second.close();
    }
  });

  it('runs the give-up handler instead of the job once it was cut short more than QUEUE_MAX_STALLED_COUNT times', async () => {
    const prefix = `t-${randomUUID().slice(0, 8)}`;
    const env = { ...fastStalls, QUEUE_MAX_STALLED_COUNT: '0' };
    await cutShort(prefix, env);
    logs.lines.length = 0;
    const second = await queueFor('redis', prefix, env);
    const ran: string[] = [];
    const givenUp = new Recorder<number>();
    second.process(
      async (job) => void ran.push(job.data.label),
      { giveUp: async (_job, interruptions) => givenUp.push(interruptions) },
    );
    try {
      expect(await givenUp.waitFor(1, 10_000)).toEqual([1]);
      const gaveUp = (message: string) => /failed for good .*UnrecoverableError: cut short 1 times/.test(message);
      await pollUntil(async () => logs.lines.some((entry) => gaveUp(entry.message)), Boolean, 2_000, 20);
      expect(logs.lines.find((entry) => gaveUp(entry.message))?.level).toBe('error');
      expect(ran).toEqual([]);
    } finally {
      await second.stopProcessing(1_000);
      await second.close();
    }
  });

  it('keeps no completed job of a queue that keeps none, and the failed ones it keeps', async () => {
    const prefix = `t-${randomUUID().slice(0, 8)}`;
    prefixes.add(prefix);
    const definition = defineQueue<Work>({
      name: 'large',
      description: 'large jobs',
      attempts: 1,
      retention: { completed: { count: 0 }, failed: { count: 1, age: 60 } },
    });
    const config = loadConfig({ NODE_ENV: 'test', REDIS_URL: testRedisUrl(), QUEUE_PREFIX: prefix, QUEUE_RETRY_DELAY_MS: '20' });
    const queue = await createJobQueue(definition, config, commands);
    const done = new Recorder<string>();
    queue.process(async (job) => {
      done.push(job.data.label);
      if (job.data.label.startsWith('fails')) throw new Error('refused');
    });
    try {
      for (const label of ['ok-1', 'fails-1', 'ok-2', 'fails-2']) await queue.add({ label });
      await done.waitFor(4);
      const counts = await pollUntil(
        () => (queue as BullJobQueue<Work>).bullQueue.getJobCounts('completed', 'failed', 'active', 'wait'),
        (value) => value.completed === 0 && value.failed === 1 && value.active === 0 && value.wait === 0,
        5_000,
        20,
      );
      expect(counts.value).toEqual({ completed: 0, failed: 1, active: 0, wait: 0 });
    } finally {
      await queue.stopProcessing(1_000);
      await queue.close();
    }
  });

  it('takes a once id over when the add under it was abandoned (the claim outlived a failed add, as across a failover)', async () => {
    const prefix = `t-${randomUUID().slice(0, 8)}`;
    const queue = await queueFor('redis', prefix);
    try {
      // Claimed 5 s ago and never marked added: twice the add budget (2 × 1 s) has passed.
      const abandoned = { id: 'telegram:update:abc:2', ttlSeconds: 60 };
      await redis.set(onceKey(prefix, 'work', abandoned.id), 'adding', 'PX', 55_000);
      const added = await queue.add({ label: 'retaken' }, { once: abandoned });
      expect(added.status).toBe('queued');
      expect(await redis.get(onceKey(prefix, 'work', abandoned.id))).toBe(added.status === 'queued' ? added.jobId : '');
      expect(await queue.add({ label: 'again' }, { once: abandoned })).toEqual({ status: 'duplicate' });

      // Claimed just now: that add may still store its job, so this one is refused for now, not dropped.
      const inFlight = { id: 'telegram:update:abc:3', ttlSeconds: 60 };
      await redis.set(onceKey(prefix, 'work', inFlight.id), 'adding', 'EX', 60);
      await expect(queue.add({ label: 'too early' }, { once: inFlight })).rejects.toThrow(QueueUnavailableError);
    } finally {
      await queue.close();
    }
  });

  it('takes an abandoned once id over without a second job when the abandoned add did store its job (its answer lost)', async () => {
    const prefix = `t-${randomUUID().slice(0, 8)}`;
    const queue = await queueFor('redis', prefix);
    try {
      const once = { id: 'telegram:update:abc:4', ttlSeconds: 60 };
      const first = await queue.add({ label: 'stored' }, { once });
      // As on a promoted replica: the job arrived, the id's marking and the claim's release did not,
      // and the claim has aged past twice the add budget.
      await redis.set(onceKey(prefix, 'work', once.id), 'adding:lost', 'PX', 55_000);
      const retaken = await queue.add({ label: 'twin' }, { once });
      expect(retaken).toEqual(first);
      const seen = new Recorder<string>();
      queue.process(async (job) => seen.push(job.data.label));
      expect(await seen.waitFor(1)).toEqual(['stored']);
      await expect(queue.add({ label: 'again' }, { once })).resolves.toEqual({ status: 'duplicate' });
      // A twin would be waiting, or running, or recorded by now.
      const idle = (depth: QueueDepth) => depth.waiting + depth.active + depth.delayed === 0;
      await pollUntil(() => queue.depth(), idle, 5_000, 20);
      expect(seen.values).toEqual(['stored']);
    } finally {
      await queue.stopProcessing(1_000);
      await queue.close();
    }
  });

  it('waits for a job that outlives its share at shutdown, never cutting its connection: the event loop keeps running and the job is recorded', async () => {
    const queue = (await queueFor('redis')) as BullJobQueue<Work>;
    const started = new Recorder<string>();
    queue.process(async (job) => {
      started.push(job.data.label);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
    });
    try {
      await queue.add({ label: 'slow' });
      await started.waitFor(1);
      const stoppingAt = Date.now();
      let stoppedAt = 0;
      const stopping = queue.stopProcessing(300).then(() => (stoppedAt = Date.now()));
      // Across the job's end: timers fire on time. Its completion write, retried at once on a connection cut
      // under it, had starved the event loop (the process hung until SIGKILL).
      expect(await latestTimerOver(2_000)).toBeLessThan(500);
      await stopping;
      expect(stoppedAt - stoppingAt).toBeGreaterThanOrEqual(1_000);
      expect(logs.lines.filter((line) => line.level === 'warn').map((line) => line.message)).toEqual([
        expect.stringMatching(/^Running jobs did not finish within the 300 ms left for them at shutdown/),
      ]);
      expect(await queue.bullQueue.getJobCounts('completed', 'active')).toEqual({ completed: 1, active: 0 });
    } finally {
      await queue.close();
    }
  });

  it('cuts the connections of a worker whose close waits, without a job that ends afterwards spinning on them', async () => {
    const prefix = `t-${randomUUID().slice(0, 8)}`;
    prefixes.add(prefix);
    const producer = new Queue('cut', { connection: { url: testRedisUrl() }, prefix });
    const started = new Recorder<string>();
    const worker = new Worker(
      'cut',
      async () => {
        started.push('running');
        await new Promise((resolve) => setTimeout(resolve, 1_500));
      },
      { connection: { url: testRedisUrl(), maxRetriesPerRequest: null }, prefix },
    );
    try {
      await producer.add('slow', {});
      await started.waitFor(1);
      // The close waits for the job; past the grace the connections are cut under it.
      const closed = finishClosing(worker.close(), worker);
      // Across the job's end: timers fire on time. Its completion write, retried at once on the cut
      // connection, had starved the event loop (the process hung until SIGKILL).
      expect(await latestTimerOver(2_000)).toBeLessThan(500);
      await closed;
      // Not recorded: left active, for BullMQ's stalled-job check, as when a process is killed.
      expect(await producer.getJobCounts('completed', 'active')).toEqual({ completed: 0, active: 1 });
    } finally {
      await worker.close(true);
      await producer.close();
    }
  });

  it('remembers a once id under the prefix with its expiry', async () => {
    const prefix = `t-${randomUUID().slice(0, 8)}`;
    const queue = await queueFor('redis', prefix);
    try {
      await queue.add({ label: 'x' }, { once: { id: 'telegram:update:abc:1', ttlSeconds: 120 } });
      const key = onceKey(prefix, 'work', 'telegram:update:abc:1');
      expect(key).toBe(`${prefix}:work:once:telegram:update:abc:1`);
      const ttl = await redis.ttl(key);
      expect(ttl).toBeGreaterThan(100);
      expect(ttl).toBeLessThanOrEqual(120);
    } finally {
      await queue.close();
    }
  });
});

describe('JobQueue closed during its setup', () => {
  it('logs no Redis trouble when it stops right after starting its worker, with Redis up', async () => {
    for (let round = 0; round < 5; round += 1) {
      logs.lines.length = 0;
      const queue = await queueFor('redis');
      queue.process(async () => undefined);
      await queue.stopProcessing(1_000);
      await queue.close();
      expect(logs.lines.filter((line) => line.level === 'warn' || line.level === 'error')).toEqual([]);
    }
  });
});

describe('JobQueue with Redis out of reach', () => {
  // An unhandled rejection while the test runs fails it: Jest reports it as the test's error.
  it('closes without an unhandled rejection while its connections, each failed once, are still trying', async () => {
    const server = await ResettingThenSilentServer.start();
    const queue = (await queueFor('redis', undefined, { REDIS_URL: server.url })) as BullJobQueue<Work>;
    try {
      queue.process(async () => undefined);
      void queue.operatorQueue();
      server.hold();
      // The producer's, the worker's, its blocking one and the operator's: each failed, each now waiting.
      const { value: held } = await pollUntil(async () => server.heldConnections, (count) => count >= 4, 10_000, 20);
      expect(held).toBeGreaterThanOrEqual(4);
      await queue.stopProcessing(1_000);
      await queue.close();
      // Every connection closed, and the failed starts BullMQ reports on closing have been reported.
      const { value: open } = await pollUntil(async () => server.heldConnections, (count) => count === 0, 2_000, 20);
      expect(open).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      await queue.stopProcessing(1_000);
      await queue.close();
      await server.stop();
    }
  });
});
