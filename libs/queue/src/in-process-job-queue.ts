import { Logger } from '@nestjs/common';
import {
  JobQueue,
  PermanentJobError,
  QueueUnavailableError,
  RetryLaterError,
  type AddOptions,
  type AddResult,
  type Job,
  type JobHandler,
  type QueueDepth,
} from './job-queue';
import type { QueueDefinition } from './queue-definition';
import { describeFailure, retryDelayMs } from './retry-policy';

export interface InProcessQueueSettings {
  concurrency: number;
  retryDelayMs: number;
}

interface Entry<T> {
  id: string;
  data: T;
  attemptsMade: number;
  steps: Map<string, unknown>;
  /** Effects begun (`Job.begin`). */
  begun: Set<string>;
}

/**
 * The embedded mode's queue (no `REDIS_URL`): jobs wait in this process's memory and run with the
 * same concurrency, attempts and backoff as the durable queue. Queued jobs and pending retries are
 * lost on restart; run one instance.
 */
export class InProcessJobQueue<T> extends JobQueue<T> {
  readonly durable = false;
  readonly name: string;
  private readonly logger: Logger;
  private readonly waiting: Entry<T>[] = [];
  private readonly retryTimers = new Map<NodeJS.Timeout, Entry<T>>();
  /** `once` ids and when they may be added again (epoch milliseconds). */
  private readonly onceIds = new Map<string, number>();
  private readonly idleWaiters = new Set<() => void>();
  private handler: JobHandler<T> | undefined;
  private running = 0;
  private sequence = 0;
  private stopped = false;

  constructor(
    private readonly definition: QueueDefinition<T>,
    private readonly settings: InProcessQueueSettings,
  ) {
    super();
    this.name = definition.name;
    this.logger = new Logger(`Queue:${definition.name}`);
  }

  async add(data: T, options: AddOptions = {}): Promise<AddResult> {
    if (this.stopped) throw new QueueUnavailableError(`Queue ${this.name} is shutting down`);
    if (options.once && !this.claimOnce(options.once.id, options.once.ttlSeconds)) return { status: 'duplicate' };
    const entry: Entry<T> = {
      id: String(++this.sequence),
      // A copy through JSON, as the durable queue stores it: the caller's object is never shared.
      data: JSON.parse(JSON.stringify(data)) as T,
      attemptsMade: 0,
      steps: new Map(),
      begun: new Set(),
    };
    this.waiting.push(entry);
    this.pump();
    return { status: 'queued', jobId: entry.id };
  }

  /** No run is ever cut short here without the process (and its jobs) going too: `giveUp` never runs. */
  process(handler: JobHandler<T>): void {
    if (this.handler) throw new Error(`Queue ${this.name} already has a handler`);
    this.handler = handler;
    this.pump();
  }

  consuming(): boolean {
    return this.handler !== undefined && !this.stopped;
  }

  async stopProcessing(timeoutMs: number): Promise<void> {
    this.stopped = true;
    const dropped = this.retryTimers.size;
    for (const timer of this.retryTimers.keys()) clearTimeout(timer);
    this.retryTimers.clear();
    if (dropped > 0) this.logger.warn(`Dropped ${dropped} job(s) waiting for a retry: the in-process queue is not durable`);
    const drained = await this.waitForIdle(timeoutMs);
    if (!drained) {
      this.logger.warn(
        `${this.running} running and ${this.waiting.length} waiting job(s) did not finish within ${timeoutMs} ms of shutdown and are lost`,
      );
    }
  }

  async forgetOnce(id: string): Promise<void> {
    this.onceIds.delete(id);
  }

  async close(): Promise<void> {
    this.stopped = true;
  }

  private claimOnce(id: string, ttlSeconds: number): boolean {
    const now = Date.now();
    for (const [known, until] of this.onceIds) if (until <= now) this.onceIds.delete(known);
    if (this.onceIds.has(id)) return false;
    this.onceIds.set(id, now + ttlSeconds * 1000);
    return true;
  }

  async depth(): Promise<QueueDepth> {
    return { waiting: this.waiting.length, active: this.running, delayed: this.retryTimers.size };
  }

  private pump(): void {
    while (this.handler && this.running < this.settings.concurrency && this.waiting.length > 0) {
      void this.run(this.handler, this.waiting.shift()!);
    }
    if (this.running === 0 && this.waiting.length === 0) for (const notify of this.idleWaiters) notify();
  }

  private async run(handler: JobHandler<T>, entry: Entry<T>): Promise<void> {
    this.running += 1;
    entry.attemptsMade += 1;
    try {
      await handler(this.viewOf(entry));
      this.outcomes.completed += 1;
      this.logger.debug(`Job ${entry.id} of queue ${this.name} completed`);
    } catch (error) {
      this.failed(entry, error as Error);
    } finally {
      this.running -= 1;
      this.pump();
    }
  }

  private failed(entry: Entry<T>, error: Error): void {
    if (error instanceof RetryLaterError && !this.stopped) {
      // The wait the handler asked for does not use up an attempt.
      entry.attemptsMade -= 1;
      this.outcomes.retried += 1;
      this.logger.debug(`Job ${entry.id} of queue ${this.name} runs again in ${error.delayMs} ms: ${error.message}`);
      this.retryLater(entry, error.delayMs);
      return;
    }
    const maxAttempts = this.definition.attempts;
    const final = error instanceof PermanentJobError || entry.attemptsMade >= maxAttempts || this.stopped;
    const delay = final ? null : retryDelayMs(entry.attemptsMade, this.settings.retryDelayMs);
    const line = describeFailure(this.name, entry.id, entry.attemptsMade, maxAttempts, error, delay);
    if (delay === null) {
      this.outcomes.failed += 1;
      this.logger.error(line);
      return;
    }
    this.outcomes.retried += 1;
    this.logger.warn(line);
    this.retryLater(entry, delay);
  }

  private retryLater(entry: Entry<T>, delay: number): void {
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      this.waiting.push(entry);
      this.pump();
    }, delay);
    this.retryTimers.set(timer, entry);
  }

  private viewOf(entry: Entry<T>): Job<T> {
    const maxAttempts = this.definition.attempts;
    return {
      id: entry.id,
      data: entry.data,
      attempt: entry.attemptsMade,
      maxAttempts,
      isFinalAttempt: entry.attemptsMade >= maxAttempts,
      step: async <R>(name: string, work: () => Promise<R>): Promise<R> => {
        if (entry.steps.has(name)) return entry.steps.get(name) as R;
        const result = await work();
        entry.steps.set(name, JSON.parse(JSON.stringify(result ?? null)) as unknown);
        return result;
      },
      begin: async (name: string): Promise<boolean> => {
        if (entry.begun.has(name)) return false;
        entry.begun.add(name);
        return true;
      },
    };
  }

  private waitForIdle(timeoutMs: number): Promise<boolean> {
    if (this.running === 0 && this.waiting.length === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (drained: boolean): void => {
        clearTimeout(timer);
        this.idleWaiters.delete(notify);
        resolve(drained);
      };
      const notify = (): void => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.idleWaiters.add(notify);
    });
  }
}
