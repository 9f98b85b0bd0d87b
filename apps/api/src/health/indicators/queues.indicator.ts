import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { AppConfig } from '@app/config';
import { QueueRegistry } from '@app/queue';
import { DependencyIndicator, describeError, elapsedMs, type ProbeOutcome } from './dependency-indicator';

/** How long an answer that every queue counts its jobs is reused, in milliseconds. */
export const QUEUES_UP_REUSE_MS = 1_000;

/**
 * `queues`: every job queue of the app answers a count of its jobs on its own connection — with
 * Redis, BullMQ's count script run by its SHA over the queue's keys. A Redis that answers `PING`
 * and the cache's probe can still refuse the queues (an ACL without `evalsha`, the list or
 * sorted-set commands, or the queue's key prefix): the webhook and the callbacks, which queue their
 * work, would then answer 503 while readiness said 200. In the embedded mode the queues are this
 * process's and always answer.
 *
 * An answer that all is well is reused for {@link QUEUES_UP_REUSE_MS}: the counts cost a round trip on
 * every queue's own connection (about half a millisecond of a readiness answer under load, which
 * took its p99 past 10 ms), and what they catch — an ACL, a key prefix — does not change from one
 * probe to the next, while Redis going away is the `redis` check's, made every time. A failure is
 * never reused: a queue that answers again is seen by the next probe.
 */
@Injectable()
export class QueuesIndicator extends DependencyIndicator<'queues'> {
  private reusableUp: { at: number; outcome: ProbeOutcome } | undefined;

  constructor(
    indicators: HealthIndicatorService,
    config: AppConfig,
    private readonly queues: QueueRegistry,
  ) {
    super('queues', indicators, config.health.checkTimeoutMs);
  }

  protected async probe(): Promise<ProbeOutcome> {
    if (this.reusableUp && performance.now() - this.reusableUp.at < QUEUES_UP_REUSE_MS) return this.reusableUp.outcome;
    const outcome = await this.count();
    this.reusableUp = outcome.up ? { at: performance.now(), outcome } : undefined;
    return outcome;
  }

  private async count(): Promise<ProbeOutcome> {
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
