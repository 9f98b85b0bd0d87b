import { Injectable, Module } from '@nestjs/common';
import type { JobQueue } from './job-queue';

/**
 * Every job queue the app created, whatever module declared it: what operator tools (the queue
 * dashboard, the queue metrics) list without knowing the features.
 */
@Injectable()
export class QueueRegistry {
  private readonly queues = new Map<string, JobQueue<unknown>>();

  add(queue: JobQueue<unknown>): void {
    this.queues.set(queue.name, queue);
  }

  /** The queues in the order they were created. */
  all(): JobQueue<unknown>[] {
    return [...this.queues.values()];
  }
}

/** One {@link QueueRegistry} for the whole app: every `QueueModule.forFeature` imports this static module. */
@Module({ providers: [QueueRegistry], exports: [QueueRegistry] })
export class QueueRegistryModule {}
