import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyAdapter } from '@nestjs/platform-fastify';
import { Counter, Gauge, Histogram } from 'prom-client';
import { CacheInvalidationService } from '@app/cache-invalidation';
import { withTimeout } from '@app/common';
import { onRequestAnswered } from '@app/http';
import { MetricsRegistry } from '@app/metrics';
import { QueueRegistry, type JobOutcomes, type QueueDepth } from '@app/queue';
import { RequestDurations } from './request-durations';

/** Request latency buckets, in seconds: sub-millisecond cache hits up to a slow proxied call. */
const REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Invalidation lag buckets, in seconds: one pub/sub hop is about a millisecond on a LAN. */
const LAG_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];
/** The `route` label of a request no route matched (one series, whatever the path). */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Longest a scrape waits for the queues' counts (read together), in milliseconds: well inside
 * Prometheus' 10 s scrape timeout, so a frozen Redis leaves the queue series out of that scrape
 * instead of failing it, and the scrape answers within the budget of any request needing Redis.
 */
const QUEUE_DEPTH_TIMEOUT_MS = 1_000;

const DEPTH_STATES: (keyof QueueDepth)[] = ['waiting', 'active', 'delayed'];
const OUTCOMES: (keyof JobOutcomes)[] = ['completed', 'retried', 'failed'];

/**
 * The operational series `/metrics` adds to the cache's (same registry, so one scrape has all):
 * - `http_request_duration_seconds{method,route,status_code}`: a histogram per route template
 *   (its `_count` is the request rate), observed when each answer has been sent;
 * - `queue_jobs{queue,state}`: jobs waiting, running and delayed for a retry, read at scrape time
 *   (each bounded to 1 s, so a frozen Redis leaves the series out instead of stalling the scrape);
 * - `queue_job_outcomes_total{queue,outcome}`: attempts this process finished, by outcome;
 * - `cache_invalidation_lag_seconds`: from another instance sending an invalidation to this one
 *   having applied it (clocks of both hosts; negative skew counts as 0).
 */
@Injectable()
export class OperationalMetrics implements OnModuleInit, OnModuleDestroy {
  private detachLag: (() => void) | undefined;

  constructor(
    private readonly registry: MetricsRegistry,
    private readonly queues: QueueRegistry,
    private readonly invalidation: CacheInvalidationService,
    private readonly adapterHost: HttpAdapterHost<FastifyAdapter>,
  ) {}

  onModuleInit(): void {
    const registers = [this.registry];
    const requests = new RequestDurations(
      'http_request_duration_seconds',
      'Time from a request arriving to its answer being sent, by route template',
      REQUEST_BUCKETS,
      this.registry,
    );
    onRequestAnswered(this.adapterHost.httpAdapter, (request, elapsedMs, statusCode) =>
      requests.observe(request.method, request.routeOptions.url ?? UNMATCHED_ROUTE, statusCode, elapsedMs / 1000),
    );

    const queues = this.queues;
    new Gauge({
      name: 'queue_jobs',
      help: 'Jobs in each queue by state (waiting, active, delayed for a retry)',
      labelNames: ['queue', 'state'],
      registers,
      async collect() {
        this.reset();
        const all = queues.all();
        const depths = await Promise.all(
          all.map((queue) => withTimeout(queue.depth(), QUEUE_DEPTH_TIMEOUT_MS, () => new Error('queue depth timed out')).catch(() => null)),
        );
        depths.forEach((depth, index) => {
          if (depth) for (const state of DEPTH_STATES) this.set({ queue: all[index].name, state }, depth[state]);
        });
      },
    });
    new Counter({
      name: 'queue_job_outcomes_total',
      help: 'Job attempts finished in this process, by outcome (completed, retried, failed for good)',
      labelNames: ['queue', 'outcome'],
      registers,
      collect() {
        this.reset();
        for (const queue of queues.all()) {
          for (const outcome of OUTCOMES) this.inc({ queue: queue.name, outcome }, queue.outcomes[outcome]);
        }
      },
    });

    const lag = new Histogram({
      name: 'cache_invalidation_lag_seconds',
      help: 'From another instance sending an invalidation event to this instance having applied it',
      buckets: LAG_BUCKETS,
      registers,
    });
    this.detachLag = this.invalidation.onApplied((event) => lag.observe(Math.max(0, Date.now() - event.sentAt) / 1000));
  }

  onModuleDestroy(): void {
    this.detachLag?.();
  }
}
