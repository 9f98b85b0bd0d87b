import type { CacheOverview } from '@app/cache';

/** The cache's state in `GET /health`: totals over every namespace, not per-namespace detail. */
export interface CacheSummary {
  /** Whether L2 (Redis) is configured; false in the embedded mode. */
  l2Configured: boolean;
  /** `closed` (using Redis), `open` (skipping it), `half-open` (trying it) or `disabled` (embedded). */
  circuit: CacheOverview['circuit'];
  /** Times the circuit breaker has opened since the process started. */
  circuitOpenings: number;
  /** Invalidations waiting for Redis to come back. */
  pendingInvalidations: number;
  namespaces: number;
  /** Entries currently held in L1, all namespaces together. */
  l1Entries: number;
  l1Hits: number;
  l2Hits: number;
  misses: number;
  l2Errors: number;
  /** Hits (L1, L2 and stale) over lookups, 0–1 with four decimals; 0 before the first lookup. */
  hitRate: number;
}

/**
 * Totals for a public route: per-namespace statistics stay behind the admin secret
 * (`GET /admin/cache/stats`).
 */
export function summarizeCache(overview: CacheOverview): CacheSummary {
  const stats = Object.values(overview.namespaces);
  const sum = (pick: (snapshot: (typeof stats)[number]) => number) =>
    stats.reduce((total, snapshot) => total + pick(snapshot), 0);
  const hits = sum((s) => s.l1Hits + s.l2Hits + s.staleServes);
  const lookups = hits + sum((s) => s.misses);
  return {
    l2Configured: overview.l2Configured,
    circuit: overview.circuit,
    circuitOpenings: overview.circuitOpenings,
    pendingInvalidations: overview.pendingInvalidations,
    namespaces: stats.length,
    l1Entries: sum((s) => s.size),
    l1Hits: sum((s) => s.l1Hits),
    l2Hits: sum((s) => s.l2Hits),
    misses: sum((s) => s.misses),
    l2Errors: sum((s) => s.l2Errors),
    hitRate: lookups === 0 ? 0 : Math.round((hits / lookups) * 10_000) / 10_000,
  };
}
