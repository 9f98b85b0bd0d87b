import { Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { MetricsRegistry } from '@app/metrics';
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
 * The cache statistics as Prometheus series in the app's registry: the same numbers as
 * `/admin/cache/stats`, read at scrape time from the one source of truth.
 */
@Injectable()
export class CacheMetrics {
  constructor(caches: CacheRegistry, registry: MetricsRegistry) {
    const read = () => caches.overview();
    const perNamespace = () => Object.entries(read().namespaces);

    new Counter({
      name: 'cache_lookups_total',
      help: 'Cache lookups by outcome',
      labelNames: ['namespace', 'result'],
      registers: [registry],
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
        registers: [registry],
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
        registers: [registry],
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
      registers: [registry],
      collect() {
        this.set(read().circuit === 'open' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'cache_l2_pending_invalidations',
      help: 'Invalidations waiting for Redis to come back',
      registers: [registry],
      collect() {
        this.set(read().pendingInvalidations);
      },
    });
  }
}
