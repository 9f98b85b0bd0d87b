import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { AppConfig } from '@app/config';
import { QueueRegistry } from '@app/queue';
import { DependencyIndicator, describeError, elapsedMs, type ProbeOutcome } from './dependency-indicator';

/**
 * `queues`: every job queue of the app answers a count of its jobs on its own connection — with
 * Redis, BullMQ's count script run by its SHA over the queue's keys. A Redis that answers `PING`
 * and the cache's probe can still refuse the queues (an ACL without `evalsha`, the list or
 * sorted-set commands, or the queue's key prefix): the webhook and the callbacks, which queue their
 * work, would then answer 503 while readiness said 200. In the embedded mode the queues are this
 * process's and always answer.
 */
@Injectable()
export class QueuesIndicator extends DependencyIndicator<'queues'> {
  constructor(
    indicators: HealthIndicatorService,
    config: AppConfig,
    private readonly queues: QueueRegistry,
  ) {
    super('queues', indicators, config.health.checkTimeoutMs);
  }

  protected async probe(): Promise<ProbeOutcome> {
    const queues = [...this.queues.all()].sort((a, b) => a.name.localeCompare(b.name));
    if (queues.length === 0) return { up: false, reason: 'no job queue is registered' };
    const startedAt = performance.now();
    const answers = await Promise.allSettled(queues.map((queue) => queue.depth()));
    const failed = answers.findIndex((answer) => answer.status === 'rejected');
    if (failed >= 0) {
      return { up: false, reason: `${queues[failed].name}: ${describeError((answers[failed] as PromiseRejectedResult).reason)}` };
    }
    return { up: true, details: { durationMs: elapsedMs(startedAt), queues: queues.map((queue) => queue.name) } };
  }
}
