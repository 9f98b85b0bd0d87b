import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { AppConfig } from '@app/config';
import { CacheRegistry } from './cache-registry';
import type { NamespaceStatsSnapshot } from './cache-stats';

type CounterField = keyof Pick<
  NamespaceStatsSnapshot,
  'loads' | 'loadErrors' | 'l2Errors' | 'sets' | 'evictions' | 'invalidations'
>;

const COUNTERS: Record<CounterField, [name: string, help: string]> = {
  loads: ['cache_loads_total', 'Loader runs after single flight'],
  loadErrors: ['cache_load_errors_total', 'Loader runs that failed'],
  l2Errors: ['cache_l2_errors_total', 'L2 (Redis) operations that failed, timed out or were skipped by the breaker'],
  sets: ['cache_sets_total', 'Values stored'],
  evictions: ['cache_evictions_total', 'L1 entries evicted to respect the bound'],
  invalidations: ['cache_invalidations_total', 'Invalidations applied (key, tag, namespace; local or remote)'],
};

/**
 * Prometheus exposition of the cache statistics (the same numbers as `/admin/cache/stats`, read at
 * scrape time from the one source of truth) plus the process's default metrics. Each app instance
 * has its own registry, so two apps in one process do not share series.
 */
@Injectable()
export class CacheMetrics {
  readonly registry = new Registry();

  constructor(caches: CacheRegistry, config: AppConfig) {
    this.registry.setDefaultLabels({ service: config.app.name });
    collectDefaultMetrics({ register: this.registry });
    const read = () => caches.overview();
    const perNamespace = () => Object.entries(read().namespaces);

    new Counter({
      name: 'cache_lookups_total',
      help: 'Cache lookups by outcome',
      labelNames: ['namespace', 'result'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [namespace, stats] of perNamespace()) {
          this.inc({ namespace, result: 'l1_hit' }, stats.l1Hits);
          this.inc({ namespace, result: 'l2_hit' }, stats.l2Hits);
          this.inc({ namespace, result: 'stale' }, stats.staleServes);
          this.inc({ namespace, result: 'miss' }, stats.misses);
        }
      },
    });
    for (const [field, [name, help]] of Object.entries(COUNTERS) as [CounterField, [string, string]][]) {
      new Counter({
        name,
        help,
        labelNames: ['namespace'],
        registers: [this.registry],
        collect() {
          this.reset();
          for (const [namespace, stats] of perNamespace()) this.inc({ namespace }, stats[field]);
        },
      });
    }
    const gauge = (name: string, help: string, pick: (stats: NamespaceStatsSnapshot) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['namespace'],
        registers: [this.registry],
        collect() {
          this.reset();
          for (const [namespace, stats] of perNamespace()) this.set({ namespace }, pick(stats));
        },
      });
    gauge('cache_entries', 'Current L1 entries', (stats) => stats.size);
    gauge('cache_max_entries', 'L1 bound in entries', (stats) => stats.maxEntries);
    gauge('cache_hit_ratio', 'Hits / lookups since start (0-1)', (stats) => stats.hitRate);
    new Gauge({
      name: 'cache_l2_circuit_open',
      help: '1 while the L2 circuit breaker skips Redis, else 0',
      registers: [this.registry],
      collect() {
        this.set(read().circuit === 'open' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'cache_l2_pending_invalidations',
      help: 'Invalidations waiting for Redis to come back',
      registers: [this.registry],
      collect() {
        this.set(read().pendingInvalidations);
      },
    });
    const BUS_OUTCOMES = ['published', 'publishFailures', 'received', 'applied', 'rejected', 'ignored', 'resyncs'] as const;
    new Counter({
      name: 'cache_invalidation_events_total',
      help: 'Cross-instance invalidation events by outcome (publish_failures, resyncs: L1 cleared after a subscriber gap)',
      labelNames: ['outcome'],
      registers: [this.registry],
      collect() {
        this.reset();
        const bus = read().invalidationBus;
        if (!bus) return;
        for (const outcome of BUS_OUTCOMES) {
          this.inc({ outcome: outcome.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`) }, bus[outcome]);
        }
      },
    });
    new Gauge({
      name: 'cache_invalidation_subscribed',
      help: '1 while this instance hears invalidation events from the others, else 0',
      registers: [this.registry],
      collect() {
        this.set(read().invalidationBus?.subscribed ? 1 : 0);
      },
    });
  }

  async exposition(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
