/** Keeps a job from being added twice: a second add with the same `id` within `ttlSeconds` is dropped. */
export interface AddOnce {
  /** What makes two jobs the same (e.g. the bot and Telegram's `update_id`); any characters. */
  id: string;
  /** How long the id is remembered, in seconds. */
  ttlSeconds: number;
}

export interface AddOptions {
  once?: AddOnce;
}

/** What {@link JobQueue.add} did: queued the job, or dropped it as a repeat of one already added. */
export type AddResult = { status: 'queued'; jobId: string } | { status: 'duplicate' };

/** One attempt at one job, as its handler sees it. */
export interface Job<T> {
  readonly id: string;
  /** The data given to `add`, as a copy (it went through JSON). */
  readonly data: T;
  /** This attempt's number, from 1. */
  readonly attempt: number;
  /** Attempts in all, the first included. */
  readonly maxAttempts: number;
  /** No attempt follows this one if it fails. */
  readonly isFinalAttempt: boolean;
  /**
   * Runs `work` once over all attempts of this job: its result (JSON-serializable; `undefined` is
   * kept as `null`) is saved with the job, and a retry gets the saved result without running `work`
   * again. Wrap each step with an effect a retry must not repeat (a message sent, a request
   * forwarded). A step that throws is not saved and runs again on the next attempt.
   */
  step<R>(name: string, work: () => Promise<R>): Promise<R>;
  /**
   * Records durably that the effect `name` is starting, in one atomic operation: `true` for the
   * first call over all attempts of this job (also when two workers run it at once after a lost
   * lock), `false` for every later one. Start an effect that must happen at most once only on
   * `true`, right before it and after everything an attempt may safely redo. `false` means an
   * earlier attempt started it and never saved how it ended (its process was killed, or it
   * failed): it may or may not have happened, and must not be repeated.
   */
  begin(name: string): Promise<boolean>;
}

export type JobHandler<T> = (job: Job<T>) => Promise<void>;

/**
 * Runs instead of the handler when a job was cut short more than `QUEUE_MAX_STALLED_COUNT` times
 * (its worker killed or its lock lost each time): it should only tell whoever waits for the job,
 * quickly, and the job then fails for good. `interruptions` is how many runs were cut short.
 */
export type GiveUpHandler<T> = (job: Job<T>, interruptions: number) => Promise<void>;

export interface ProcessOptions<T> {
  giveUp?: GiveUpHandler<T>;
}

/** The queue could not take the job (Redis unreachable, or the queue is closing). Nothing was queued. */
export class QueueUnavailableError extends Error {
  override readonly name = 'QueueUnavailableError';
}

/** Thrown by a handler for a failure no retry can fix: the job fails at once, with no further attempts. */
export class PermanentJobError extends Error {
  override readonly name = 'PermanentJobError';
}

/**
 * Thrown by a handler to run the job again after `delayMs` without using up one of its attempts: a
 * wait the job's own policy chose (e.g. Telegram's `retry_after`). The job waits in the queue, not
 * in a worker slot, and with Redis any process may run it then. Save what the attempt did in a
 * {@link Job.step} first: the next run starts the handler from the beginning.
 */
export class RetryLaterError extends Error {
  override readonly name = 'RetryLaterError';

  constructor(
    readonly delayMs: number,
    message: string,
  ) {
    super(message);
  }
}

/** Jobs by state, as a dashboard counts them. */
export interface QueueDepth {
  /** Waiting for a worker (including BullMQ's prioritized jobs). */
  waiting: number;
  /** Running now. */
  active: number;
  /** Waiting for a retry's delay to pass. */
  delayed: number;
}

/** Attempts finished in this process since it started, by how they ended. */
export interface JobOutcomes {
  /** The job succeeded. */
  completed: number;
  /** The attempt failed and another follows. */
  retried: number;
  /** The last attempt failed (or a permanent error): the job is given up. */
  failed: number;
}

/**
 * A durable work queue with retries (the port; `QueueModule.forFeature` provides it). With Redis it
 * is a BullMQ queue shared by every instance: jobs survive restarts and any instance may run them.
 * Without Redis it is an in-process queue with the same retry rules, lost on restart.
 */
export abstract class JobQueue<T> {
  abstract readonly name: string;
  /** Whether queued jobs survive a restart (Redis) or not (in-process). */
  abstract readonly durable: boolean;

  /**
   * Queues a job; resolves once it is stored (in Redis when durable).
   * @throws QueueUnavailableError when it could not be stored (the `once` id is then forgotten too,
   *   so the same job may be added again)
   */
  abstract add(data: T, options?: AddOptions): Promise<AddResult>;

  /**
   * Forgets a `once` id before its TTL, so a job with it may be added again (a job that gave up and
   * whose replay is welcome). Never rejects: when Redis cannot answer, the id expires by its TTL.
   */
  abstract forgetOnce(id: string): Promise<void>;

  /**
   * Starts running jobs with `handler`, at most `QUEUE_CONCURRENCY` at once in this process. A job
   * whose handler throws is retried after `QUEUE_RETRY_DELAY_MS`, then twice that, …, until its
   * attempts are used up or it throws {@link PermanentJobError}; one that throws
   * {@link RetryLaterError} runs again after the delay it names. A run cut short (its worker killed,
   * its lock lost) is run again without using an attempt, up to `QUEUE_MAX_STALLED_COUNT` times;
   * after that `options.giveUp` runs instead of the handler. Call once. In a process of
   * `APP_ROLE=api` it registers nothing: the workers run the jobs.
   */
  abstract process(handler: JobHandler<T>, options?: ProcessOptions<T>): void;

  /**
   * Whether this process is running this queue's jobs: a handler is registered and its worker has
   * not been stopped. Always false with `APP_ROLE=api`.
   */
  abstract consuming(): boolean;

  /**
   * Stops taking jobs and waits up to `timeoutMs` for the running ones to finish. Called on shutdown.
   */
  abstract stopProcessing(timeoutMs: number): Promise<void>;

  /** Releases connections. Called on shutdown, after {@link stopProcessing}. */
  abstract close(): Promise<void>;

  /** Jobs by state now: across every instance with Redis (rejects while Redis is down), this process's without. */
  abstract depth(): Promise<QueueDepth>;

  /** How this process's attempts ended, counted since start. */
  readonly outcomes: JobOutcomes = { completed: 0, retried: 0, failed: 0 };
}
