/**
 * What both tiers store for one key. `freshUntil` is separate from the store's own expiry so an
 * entry can outlive its freshness by the namespace's grace period and be served as STALE when the
 * loader fails.
 */
export interface CacheEntry<T = unknown> {
  value: T;
  /** Epoch milliseconds after which the value is stale; `Infinity` for an entry that never expires. */
  freshUntil: number;
  /** Tags the entry was stored with (namespace-local names). */
  tags?: readonly string[];
}

export function isFresh(entry: CacheEntry, now = Date.now()): boolean {
  return entry.freshUntil > now;
}

/** Runtime check of an entry read back from Redis, which another version of the app may have written. */
export function isCacheEntry(candidate: unknown): candidate is CacheEntry {
  if (!candidate || typeof candidate !== 'object') return false;
  const entry = candidate as Partial<CacheEntry>;
  return (
    'value' in entry &&
    typeof entry.freshUntil === 'number' &&
    (entry.tags === undefined || (Array.isArray(entry.tags) && entry.tags.every((tag) => typeof tag === 'string')))
  );
}
