import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { AppConfig } from '@app/config';
import { QueueRegistry } from '@app/queue';
import { DependencyIndicator, type ProbeOutcome } from './dependency-indicator';

/**
 * `queueWorkers`: every job queue of the app has a running worker in this process. A worker pod
 * (`APP_ROLE=worker`) is ready only while it takes jobs; its details list the queues it runs.
 */
@Injectable()
export class QueueWorkersIndicator extends DependencyIndicator<'queueWorkers'> {
  constructor(
    indicators: HealthIndicatorService,
    config: AppConfig,
    private readonly queues: QueueRegistry,
  ) {
    super('queueWorkers', indicators, config.health.checkTimeoutMs);
  }

  /** Queue names in alphabetical order: queues register in whatever order their modules finish starting. */
  protected probe(): Promise<ProbeOutcome> {
    const queues = [...this.queues.all()].sort((a, b) => a.name.localeCompare(b.name));
    const idle = queues.filter((queue) => !queue.consuming()).map((queue) => queue.name);
    if (queues.length === 0) return Promise.resolve({ up: false, reason: 'no job queue is registered' });
    if (idle.length > 0) return Promise.resolve({ up: false, reason: `no running worker for ${idle.join(', ')}` });
    return Promise.resolve({ up: true, details: { queues: queues.map((queue) => queue.name) } });
  }
}
