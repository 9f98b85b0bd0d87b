import { Logger } from '@nestjs/common';
import { isFresh, type CacheEntry } from './cache-entry';
import { NamespaceStats, type NamespaceStatsSnapshot } from './cache-stats';
import type { CacheKeyBuilder } from './key-builder';
import { MemoryTier } from './memory-tier';
import type { CacheNamespace } from './namespace';
import type { RedisTier, StoreCondition } from './redis-tier';
import { toMilliseconds, type Duration } from './ttl';

/** Key of an entry inside a namespace: one part or several (joined by the key builder). */
export type KeyParts = string | number | readonly (string | number)[];

/** Which entries of a namespace an invalidation removes. Keys are full keys (see {@link NamespaceCache.key}). */
export interface EntrySelection {
  keys?: readonly string[];
  tags?: readonly string[];
  /** The whole namespace. */
  all?: boolean;
}

/** What a namespace's invalidations tell the rest of the fleet (the cache-invalidation bus listens). */
export interface InvalidationNotice extends EntrySelection {
  namespace: string;
}

/** Awaited before the invalidating call returns, so a write's broadcast is sent before it answers. */
export interface InvalidationListener {
  (notice: InvalidationNotice): void | Promise<void>;
}

export interface InvalidationOutcome {
  /** Entries dropped from this instance's L1. */
  l1Removed: number;
  /**
   * Entries removed from L2; `undefined` when Redis could not be reached (the removal is replayed
   * once it answers) or the namespace has no L2.
   */
  l2Removed: number | undefined;
}

export interface InvalidateOptions {
  /**
   * Whether listeners (the cross-instance bus) hear of it. Default true; false when the caller
   * announces a batch itself, as `CacheInvalidationService` does with one event per request.
   */
  announce?: boolean;
}

export interface SetOptions {
  /**
   * Freshness (ms or `'30s'`); the namespace default when absent; `0` for no expiry (until
   * invalidated or evicted), as in cache-manager 7 and Keyv.
   */
  ttl?: Duration;
  /** Namespace-local tags, for invalidating related entries together; a function gets the value. */
  tags?: readonly string[] | ((value: unknown) => readonly string[]);
}

export type LookupStatus = 'HIT' | 'MISS' | 'STALE';

export interface LoadResult<T> {
  value: T;
  status: LookupStatus;
}

interface SharedLoad<T> extends LoadResult<T> {
  /** The loader said this answer may not be stored, so it may not be shared with waiters either. */
  uncacheable?: boolean;
}

/**
 * Longest an L1 entry stored while this instance cannot hear invalidations lives: the bound on how
 * long it can answer a value another instance has meanwhile changed.
 */
export const UNTRUSTED_L1_LIFETIME_MS = 1_000;

/** Where a load began: this instance's invalidation epoch and, when L2 was read, its generation. */
interface LoadStart {
  epoch: number;
  generation?: string;
}

/** A loader's answer when it decides per call whether the value may be stored. */
export class Uncacheable<T> {
  constructor(readonly value: T) {}
}

export interface ResolvedNamespace {
  definition: CacheNamespace;
  ttlMs: number;
  l1TtlMs: number;
  graceMs: number;
  maxEntries: number;
}

/**
 * The cache of one namespace: L1 in-process, L2 Redis when configured, behind one API. Reads fall
 * through L1 → L2 → loader; concurrent misses for a key share one load (single flight); a loader
 * failure serves a value inside the grace window as STALE. Writes and invalidations hit L1 at once,
 * then L2, then tell other instances. An invalidation during a load — on this instance or, through
 * the L2 generation, on any other — stops that load's result from being stored, so a write is never
 * undone by a read that started before it.
 */
export class NamespaceCache {
  readonly stats = new NamespaceStats();
  private readonly l1: MemoryTier;
  private readonly spellKey: (parts: readonly (string | number)[]) => string;
  private readonly inflight = new Map<string, Promise<SharedLoad<unknown>>>();
  /** Bumped by every invalidation; a load stores its result only if it did not change meanwhile. */
  private epoch = 0;
  private readonly logger = new Logger('Cache');

  constructor(
    readonly settings: ResolvedNamespace,
    keys: CacheKeyBuilder,
    private readonly l2: RedisTier | null,
    private readonly notify: InvalidationListener,
    /**
     * Whether L1 is trusted: false while this instance could be missing invalidations from other
     * instances (its invalidation subscription is silent). L1 is emptied when that starts and ends;
     * in between, what it holds lives at most {@link UNTRUSTED_L1_LIFETIME_MS}.
     */
    private readonly l1Trusted: () => boolean = () => true,
  ) {
    this.spellKey = keys.entriesOf(settings.definition.name);
    this.l1 = new MemoryTier({ maxEntries: settings.maxEntries, onEvict: () => (this.stats.evictions += 1) });
  }

  get name(): string {
    return this.settings.definition.name;
  }

  get tiers(): readonly ('l1' | 'l2')[] {
    return this.l2 ? ['l1', 'l2'] : ['l1'];
  }

  /** The full key of `parts` in this namespace. */
  key(parts: KeyParts): string {
    return this.spellKey(Array.isArray(parts) ? parts : [parts as string | number]);
  }

  /** The value if fresh in L1 or L2, else `undefined`. Counts a hit or a miss. */
  async get<T>(parts: KeyParts): Promise<T | undefined> {
    return (await this.getEntry<T>(parts))?.value;
  }

  /**
   * As {@link get}, with the entry's expiry (epoch ms; `undefined` when it never expires), which is
   * when Redis drops it too unless the namespace has a grace period.
   */
  async getEntry<T>(parts: KeyParts): Promise<{ value: T; expiresAt: number | undefined } | undefined> {
    const found = await this.lookup(this.key(parts));
    if (found && isFresh(found)) {
      return { value: found.value as T, expiresAt: Number.isFinite(found.freshUntil) ? found.freshUntil : undefined };
    }
    this.stats.misses += 1;
    return undefined;
  }

  /**
   * The value if fresh in L1, synchronously, else `undefined` (without counting a miss: callers
   * go on to {@link getOrLoad}). The hot path of route caching: no promise, no Redis.
   */
  peek<T>(parts: KeyParts): T | undefined {
    return this.freshInL1(this.key(parts))?.value as T | undefined;
  }

  /**
   * Stores a value in both tiers, and drops other instances' L1 copies of its key: resolves once that
   * is announced, as an invalidation does. A load that began before the write — here or on any
   * instance — does not store its older result after it: the write moves this instance's epoch and,
   * in the same step as its L2 store, the namespace's generation. `undefined` is never stored.
   */
  async set<T>(parts: KeyParts, value: T, options: SetOptions = {}): Promise<void> {
    if (value === undefined) return;
    const key = this.key(parts);
    this.epoch += 1;
    await this.store(key, value, options);
    await this.notify({ namespace: this.name, keys: [key] });
  }

  /**
   * The cached value, or the loader's result stored for next time. Concurrent callers of one cold
   * key share one loader call. A loader may return {@link Uncacheable} to answer without storing.
   */
  async wrap<T>(parts: KeyParts, loader: () => Promise<T | Uncacheable<T>>, options: SetOptions = {}): Promise<T> {
    return (await this.getOrLoad(parts, loader, options)).value;
  }

  /** As {@link wrap}, also saying where the value came from (for `X-Cache`). */
  async getOrLoad<T>(
    parts: KeyParts,
    loader: () => Promise<T | Uncacheable<T>>,
    options: SetOptions = {},
  ): Promise<LoadResult<T>> {
    const key = this.key(parts);
    const local = this.freshInL1(key);
    if (local) return { value: local.value as T, status: 'HIT' };
    // Joining before L2 is read keeps a burst of cold callers to one Redis read and one load.
    const running = this.inflight.get(key) as Promise<SharedLoad<T>> | undefined;
    if (running) {
      const shared = await running;
      if (shared.uncacheable) {
        this.stats.misses += 1;
        const own = await loader();
        return { value: own instanceof Uncacheable ? own.value : own, status: 'MISS' };
      }
      this.countJoined(shared.status);
      return { value: shared.value, status: shared.status };
    }
    const flight = this.readThrough(key, loader, options).finally(() => {
      if (this.inflight.get(key) === flight) this.inflight.delete(key);
    });
    this.inflight.set(key, flight);
    const result = await flight;
    return { value: result.value, status: result.status };
  }

  /** Deletes entries by key from every tier and every instance's L1. */
  async delete(...parts: KeyParts[]): Promise<void> {
    await this.invalidate({ keys: parts.map((part) => this.key(part)) });
  }

  /** Deletes every entry carrying one of `tags`, in every tier and every instance's L1. */
  async invalidateTags(...tags: string[]): Promise<void> {
    await this.invalidate({ tags });
  }

  /** Empties the namespace in every tier and every instance's L1. */
  async clear(): Promise<void> {
    await this.invalidate({ all: true });
  }

  /**
   * Removes the selected entries from L1 at once, then from L2, then tells listeners (other
   * instances) unless told not to; resolves after the listeners did, so a write that awaits it
   * has announced itself before it answers.
   */
  async invalidate(selection: EntrySelection, options: InvalidateOptions = {}): Promise<InvalidationOutcome> {
    const keys = selection.keys ?? [];
    const tags = selection.tags ?? [];
    if (!selection.all && keys.length === 0 && tags.length === 0) return { l1Removed: 0, l2Removed: 0 };
    const l1Removed = this.dropLocal(selection);
    const l2Removed = await this.removeFromL2(selection.all ? { all: true } : { keys, tags });
    // A read while Redis was being cleared (seconds, for a large namespace) found an entry not yet
    // removed and put it back in L1; this instance ignores its own event, so nothing else drops it.
    if (this.l2) this.dropLocal(selection, false);
    if (options.announce !== false) {
      await this.notify({
        namespace: this.name,
        ...(selection.all ? { all: true } : { ...(keys.length ? { keys } : {}), ...(tags.length ? { tags } : {}) }),
      });
    }
    return { l1Removed, l2Removed };
  }

  /**
   * Drops the selected entries from this instance's L1 only, for an invalidation that another
   * instance already applied to L2. Loads running now will not store their (older) result.
   * Returns how many L1 entries went. `counted`: whether it is an invalidation of its own in the
   * stats (not when {@link invalidate} drops L1 a second time).
   */
  dropLocal(selection: EntrySelection, counted = true): number {
    this.beginInvalidation(counted);
    if (selection.all) {
      const size = this.l1.size;
      this.l1.clear();
      return size;
    }
    let dropped = 0;
    for (const key of selection.keys ?? []) if (this.l1.delete(key)) dropped += 1;
    return dropped + this.l1.deleteTagged(selection.tags ?? []);
  }

  /** Removes expired L1 entries; returns how many. */
  prune(): number {
    return this.l1.prune();
  }

  snapshot(): NamespaceStatsSnapshot {
    return this.stats.snapshot(this.l1.size, this.settings.maxEntries);
  }

  private async removeFromL2(selection: EntrySelection): Promise<number | undefined> {
    if (!this.l2) return undefined;
    if (selection.all) return this.l2.clearNamespace(this.name);
    const [byKey, byTag] = await Promise.all([
      this.l2.delete(this.name, selection.keys ?? []),
      this.l2.deleteTagged(this.name, selection.tags ?? []),
    ]);
    return byKey === undefined || byTag === undefined ? undefined : byKey + byTag;
  }

  private beginInvalidation(counted: boolean): void {
    this.epoch += 1;
    this.inflight.clear();
    if (counted) this.stats.invalidations += 1;
  }

  private freshInL1(key: string): CacheEntry | undefined {
    const local = this.l1.get(key);
    if (!local || !isFresh(local)) return undefined;
    this.stats.l1Hits += 1;
    return local;
  }

  /** L1, then L2 (backfilling L1). Returns a stale entry too, so grace can use it. */
  private async lookup(key: string): Promise<CacheEntry | undefined> {
    return this.freshInL1(key) ?? (await this.readL2(key, this.l1.get(key))).entry;
  }

  /**
   * L2 for a key L1 does not hold fresh; `local` is L1's stale copy, if any. `reachable` is false
   * when L2 could not be read.
   */
  private async readL2(key: string, local: CacheEntry | undefined): Promise<{ entry: CacheEntry | undefined; reachable: boolean }> {
    if (!this.l2) return { entry: local, reachable: false };
    const epochBefore = this.epoch;
    const read = await this.l2.read(this.name, key);
    const remote = read?.entry;
    if (remote && isFresh(remote)) {
      this.stats.l2Hits += 1;
      if (this.epoch === epochBefore) this.l1.set(key, remote, this.l1Lifetime(remote.freshUntil - Date.now()));
      return { entry: remote, reachable: true };
    }
    return { entry: remote ?? local, reachable: read !== undefined };
  }

  /**
   * The single-flight body: L2, then the loader. Waiters joining it are counted by {@link countJoined}.
   * A hit is one L2 read; only a miss also reads the namespace's generation, before the loader
   * runs, which is all a store needs to refuse a value loaded before an invalidation.
   */
  private async readThrough<T>(
    key: string,
    loader: () => Promise<T | Uncacheable<T>>,
    options: SetOptions,
  ): Promise<SharedLoad<T>> {
    const epochAtStart = this.epoch;
    const { entry: found, reachable } = await this.readL2(key, this.l1.get(key));
    if (found && isFresh(found)) return { value: found.value as T, status: 'HIT' };
    this.stats.misses += 1;
    const generation = reachable ? await this.l2?.generation(this.name) : undefined;
    return this.load(key, { epoch: epochAtStart, generation }, found, loader, options);
  }

  private countJoined(status: LookupStatus): void {
    if (status === 'HIT') this.stats.l2Hits += 1;
    else if (status === 'STALE') this.stats.staleServes += 1;
    else this.stats.misses += 1;
  }

  private async load<T>(
    key: string,
    loadStart: LoadStart,
    previous: CacheEntry | undefined,
    loader: () => Promise<T | Uncacheable<T>>,
    options: SetOptions,
  ): Promise<SharedLoad<T>> {
    this.stats.loads += 1;
    let loaded: T | Uncacheable<T>;
    try {
      loaded = await loader();
    } catch (error) {
      this.stats.loadErrors += 1;
      if (previous && previous.freshUntil + this.settings.graceMs > Date.now()) {
        this.stats.staleServes += 1;
        return { value: previous.value as T, status: 'STALE' };
      }
      throw error;
    }
    if (loaded instanceof Uncacheable) return { value: loaded.value, status: 'MISS', uncacheable: true };
    if (this.epoch === loadStart.epoch) await this.store(key, loaded, options, loadStart);
    return { value: loaded, status: 'MISS' };
  }

  /**
   * Stores in L2, then L1. A loaded value (`loadStart` given) is stored only if no invalidation or
   * explicit write ran since its load began: on this instance (the epoch) or on any instance (the L2
   * generation, checked by Redis in the same step as the write). Without a generation (L2 could not
   * be read) it is kept out of L2, where it could outlive a write this instance has not heard of. An
   * explicit write (no `loadStart`) that could not reach L2 has its key's removal from L2 remembered
   * and replayed once Redis answers, so the value it replaced cannot come back from there.
   */
  private async store(key: string, value: unknown, options: SetOptions, loadStart?: LoadStart): Promise<void> {
    if (value === undefined) return;
    const requestedMs = options.ttl === undefined ? this.settings.ttlMs : toMilliseconds(options.ttl);
    const ttlMs = requestedMs === 0 ? Infinity : requestedMs;
    const entry: CacheEntry = { value, freshUntil: Date.now() + ttlMs };
    const tags = this.tagsOf(key, value, options.tags);
    if (tags === undefined) return;
    if (tags.length) entry.tags = [...new Set(tags)];
    const lifetimeMs = ttlMs + this.settings.graceMs;
    this.stats.sets += 1;
    // A load without a generation (L2 could not be read) is kept out of L2.
    const condition: StoreCondition | undefined = !loadStart ? 'write' : loadStart.generation === undefined ? undefined : { loadedAt: loadStart.generation };
    if (this.l2 && condition) {
      const stored = await this.l2.set(this.name, key, entry, lifetimeMs, condition);
      if (stored === false) return;
      if (stored === undefined && !loadStart) await this.l2.delete(this.name, [key]);
    }
    if (loadStart && this.epoch !== loadStart.epoch) return;
    this.l1.set(key, entry, this.l1Lifetime(lifetimeMs));
  }

  /**
   * The entry's tags; `undefined` when a tags function threw. The value is then not stored at all —
   * without its tags no write could evict it — and the caller, whose loader has already run, gets it
   * anyway: a cache problem never fails a request. Logged as the code defect it is.
   */
  private tagsOf(key: string, value: unknown, tags: SetOptions['tags']): readonly string[] | undefined {
    if (typeof tags !== 'function') return tags ?? [];
    try {
      return tags(value);
    } catch (error) {
      this.stats.loadErrors += 1;
      this.logger.error({ err: error, namespace: this.name }, `The tags of an entry of namespace ${this.name} could not be computed; it is not cached (key ${key})`);
      return undefined;
    }
  }

  /**
   * L1 never outlives L2 and, with Redis configured, never exceeds the namespace's L1 ceiling;
   * while L1 is not trusted, never {@link UNTRUSTED_L1_LIFETIME_MS}.
   */
  private l1Lifetime(lifetimeMs: number): number {
    const ceiling = this.l2 ? Math.min(lifetimeMs, this.settings.l1TtlMs + this.settings.graceMs) : lifetimeMs;
    return this.l1Trusted() ? ceiling : Math.min(ceiling, UNTRUSTED_L1_LIFETIME_MS);
  }
}
