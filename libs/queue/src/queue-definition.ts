import { Inject } from '@nestjs/common';

/** A queue a feature declares with {@link defineQueue} and registers with `QueueModule.forFeature`. */
export interface QueueDefinition<T = unknown> {
  /** `[a-z0-9-]+`, unique in the app; part of the queue's Redis keys. */
  readonly name: string;
  /** Attempts in all, the first included. */
  readonly attempts: number;
  /** What the queue carries, for logs and docs. */
  readonly description: string;
  /** Finished jobs kept in Redis for inspection; `undefined` for the default (`RETENTION`). */
  readonly retention: QueueRetention | undefined;
  /** The DI token of the queue's {@link JobQueue}. */
  readonly token: symbol;
  /** Carries the job data type only; never set. */
  readonly __data?: T;
}

/** How many finished jobs of one outcome are kept, and for how long at most (seconds). */
export interface KeptJobs {
  count: number;
  age?: number;
}

/** Finished jobs kept per outcome; a queue whose jobs are large keeps few. */
export interface QueueRetention {
  completed: KeptJobs;
  failed: KeptJobs;
}

const QUEUE_NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;

/**
 * Declares a queue. `attempts` defaults to 3: a job is tried three times, with exponential backoff,
 * before it fails for good.
 */
export function defineQueue<T>(options: {
  name: string;
  description: string;
  attempts?: number;
  retention?: QueueRetention;
}): QueueDefinition<T> {
  if (!QUEUE_NAME.test(options.name)) throw new Error(`Queue name "${options.name}" must match ${QUEUE_NAME}`);
  const attempts = options.attempts ?? 3;
  if (!Number.isInteger(attempts) || attempts < 1) throw new Error('Queue attempts must be a positive integer');
  return Object.freeze({
    name: options.name,
    attempts,
    description: options.description,
    retention: options.retention,
    token: Symbol(`queue:${options.name}`),
  });
}

/** Injects the `JobQueue` of `definition`. */
export const InjectQueue = (definition: QueueDefinition): ParameterDecorator => Inject(definition.token);
