import { Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { MetricsRegistry } from '@app/metrics';
import { CacheInvalidationService } from './cache-invalidation.service';

const BUS_OUTCOMES = ['published', 'publishFailures', 'resent', 'received', 'applied', 'rejected', 'ignored', 'resyncs'] as const;

/** The invalidation bus's counters as Prometheus series, read at scrape time from the service. */
@Injectable()
export class InvalidationMetrics {
  constructor(bus: CacheInvalidationService, registry: MetricsRegistry) {
    new Counter({
      name: 'cache_invalidation_events_total',
      help: 'Cross-instance invalidation events by outcome (publish_failures; resent: what failed events carried, sent again; resyncs: L1 cleared after a subscriber gap)',
      labelNames: ['outcome'],
      registers: [registry],
      collect() {
        this.reset();
        const status = bus.status();
        for (const outcome of BUS_OUTCOMES) {
          this.inc({ outcome: outcome.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`) }, status[outcome]);
        }
      },
    });
    new Gauge({
      name: 'cache_invalidation_subscribed',
      help: '1 while this instance hears invalidation events from the others, else 0',
      registers: [registry],
      collect() {
        this.set(bus.status().subscribed ? 1 : 0);
      },
    });
  }
}
