/** Counters of one namespace since the process started. */
export class NamespaceStats {
  l1Hits = 0;
  l2Hits = 0;
  misses = 0;
  /** Expired values served because the loader failed (grace / stale-if-error). */
  staleServes = 0;
  /** Loader runs (after single flight: one per cold key, not one per caller). */
  loads = 0;
  loadErrors = 0;
  l2Errors = 0;
  sets = 0;
  /** L1 entries dropped to respect the bound (not expiries, not invalidations). */
  evictions = 0;
  /** Invalidation operations applied (by key, tag, namespace, local or from another instance). */
  invalidations = 0;

  snapshot(size: number, maxEntries: number): NamespaceStatsSnapshot {
    const hits = this.l1Hits + this.l2Hits + this.staleServes;
    const lookups = hits + this.misses;
    return {
      l1Hits: this.l1Hits,
      l2Hits: this.l2Hits,
      misses: this.misses,
      staleServes: this.staleServes,
      loads: this.loads,
      loadErrors: this.loadErrors,
      l2Errors: this.l2Errors,
      sets: this.sets,
      evictions: this.evictions,
      invalidations: this.invalidations,
      size,
      maxEntries,
      hitRate: lookups === 0 ? 0 : Math.round((hits / lookups) * 10_000) / 10_000,
    };
  }
}

export interface NamespaceStatsSnapshot {
  l1Hits: number;
  l2Hits: number;
  misses: number;
  staleServes: number;
  loads: number;
  loadErrors: number;
  l2Errors: number;
  sets: number;
  evictions: number;
  invalidations: number;
  /** Current L1 entries. */
  size: number;
  maxEntries: number;
  /** (L1 hits + L2 hits + stale serves) / lookups, 0–1, four decimals. */
  hitRate: number;
}
