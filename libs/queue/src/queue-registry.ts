import { Injectable, Module } from '@nestjs/common';
import type { JobQueue } from './job-queue';

/**
 * Every job queue the app created, whatever module declared it: what operator tools (the queue
 * dashboard, the queue metrics) list without knowing the features.
 */
@Injectable()
export class QueueRegistry {
  private readonly queues = new Map<string, JobQueue<unknown>>();
  private jobsDeadline: number | undefined;

  add(queue: JobQueue<unknown>): void {
    this.queues.set(queue.name, queue);
  }

  /** The queues in the order they were created. */
  all(): JobQueue<unknown>[] {
    return [...this.queues.values()];
  }

  /**
   * How long, from now, the queue stopping now may wait for its running jobs at shutdown: one
   * `shareMs` for all of them, counted from the first queue's stop. Nest stops the queues one after
   * another, so a share each would add up past the shutdown's budget.
   */
  jobsMayRunFor(shareMs: number): number {
    this.jobsDeadline ??= Date.now() + shareMs;
    return Math.max(0, this.jobsDeadline - Date.now());
  }
}

/** One {@link QueueRegistry} for the whole app: every `QueueModule.forFeature` imports this static module. */
@Module({ providers: [QueueRegistry], exports: [QueueRegistry] })
export class QueueRegistryModule {}
