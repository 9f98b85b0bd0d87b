import { LRUCache } from 'lru-cache';
import type { CacheEntry } from './cache-entry';

export interface MemoryTierOptions {
  /** Most entries held; the least recently used goes first. */
  maxEntries: number;
  /** Called once per entry dropped to respect `maxEntries`. */
  onEvict?: () => void;
}

/**
 * L1: an in-process LRU of one namespace, bounded by entries, with a per-entry lifetime and a tag
 * index so a tag can be dropped without scanning. Every removal path keeps the index in step.
 */
export class MemoryTier {
  private readonly lru: LRUCache<string, CacheEntry>;
  private readonly keysByTag = new Map<string, Set<string>>();

  constructor(readonly options: MemoryTierOptions) {
    this.lru = new LRUCache<string, CacheEntry>({
      max: options.maxEntries,
      ttlAutopurge: false,
      allowStale: false,
      dispose: (entry, key, reason) => {
        this.unindex(key, entry);
        if (reason === 'evict') options.onEvict?.();
      },
    });
  }

  get size(): number {
    return this.lru.size;
  }

  get(key: string): CacheEntry | undefined {
    return this.lru.get(key);
  }

  /** Stores `entry` for `lifetimeMs` (its freshness plus any grace; `Infinity`: until evicted). */
  set(key: string, entry: CacheEntry, lifetimeMs: number): void {
    // lru-cache reads a TTL of 0 as "no expiry".
    this.lru.set(key, entry, { ttl: Number.isFinite(lifetimeMs) ? Math.max(1, lifetimeMs) : 0 });
    for (const tag of entry.tags ?? []) {
      let keys = this.keysByTag.get(tag);
      if (!keys) this.keysByTag.set(tag, (keys = new Set()));
      keys.add(key);
    }
  }

  delete(key: string): boolean {
    return this.lru.delete(key);
  }

  /** Drops every entry carrying one of `tags`; returns how many went. */
  deleteTagged(tags: readonly string[]): number {
    let removed = 0;
    for (const tag of tags) {
      for (const key of [...(this.keysByTag.get(tag) ?? [])]) if (this.lru.delete(key)) removed += 1;
      this.keysByTag.delete(tag);
    }
    return removed;
  }

  clear(): void {
    this.lru.clear();
    this.keysByTag.clear();
  }

  /** Removes entries whose lifetime is over; returns how many were removed. */
  prune(): number {
    const before = this.lru.size;
    this.lru.purgeStale();
    return before - this.lru.size;
  }

  private unindex(key: string, entry: CacheEntry): void {
    for (const tag of entry.tags ?? []) {
      const keys = this.keysByTag.get(tag);
      if (!keys) continue;
      keys.delete(key);
      if (keys.size === 0) this.keysByTag.delete(tag);
    }
  }
}
