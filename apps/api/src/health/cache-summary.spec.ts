import type { NamespaceStatsSnapshot } from '@app/cache';
import { summarizeCache } from './cache-summary';

const stats = (counters: Partial<NamespaceStatsSnapshot>): NamespaceStatsSnapshot => ({
  l1Hits: 0,
  l2Hits: 0,
  misses: 0,
  staleServes: 0,
  loads: 0,
  loadErrors: 0,
  l2Errors: 0,
  sets: 0,
  evictions: 0,
  invalidations: 0,
  size: 0,
  maxEntries: 100,
  hitRate: 0,
  ...counters,
});

describe('summarizeCache', () => {
  it('adds up every namespace, with one hit rate over all lookups', () => {
    const summary = summarizeCache({
      l2Configured: true,
      circuit: 'open',
      circuitOpenings: 2,
      pendingInvalidations: 3,
      namespaces: {
        http: stats({ l1Hits: 5, l2Hits: 1, misses: 2, size: 4, l2Errors: 1 }),
        settings: stats({ l1Hits: 1, staleServes: 1, misses: 2, size: 1, l2Errors: 4 }),
      },
    });
    expect(summary).toEqual({
      l2Configured: true,
      circuit: 'open',
      circuitOpenings: 2,
      pendingInvalidations: 3,
      namespaces: 2,
      l1Entries: 5,
      l1Hits: 6,
      l2Hits: 1,
      misses: 4,
      l2Errors: 5,
      hitRate: 0.6667,
    });
  });

  it('reports a hit rate of 0 before the first lookup', () => {
    const summary = summarizeCache({
      l2Configured: false,
      circuit: 'disabled',
      circuitOpenings: 0,
      pendingInvalidations: 0,
      namespaces: { http: stats({}) },
    });
    expect(summary.hitRate).toBe(0);
    expect(summary.namespaces).toBe(1);
  });
});
