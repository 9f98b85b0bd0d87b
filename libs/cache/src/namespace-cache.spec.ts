import type { CacheEntry } from './cache-entry';
import { CacheKeyBuilder } from './key-builder';
import { defineCacheNamespace } from './namespace';
import { NamespaceCache, Uncacheable, UNTRUSTED_L1_LIFETIME_MS, type InvalidationListener, type ResolvedNamespace } from './namespace-cache';
import type { RedisTier, StoreCondition } from './redis-tier';
import { controlledClock } from '../../../test/support/controlled-clock';

/** The L2 port as an in-memory map, recording what the namespace asked of it. */
class FakeL2 {
  readonly entries = new Map<string, { entry: CacheEntry; lifetimeMs: number }>();
  available = true;
  /** Bumped by every invalidation, as the Redis tier's per-namespace generation. */
  counter = 0;
  reads = 0;
  generationReads = 0;

  async get(_namespace: string, key: string): Promise<CacheEntry | undefined> {
    return this.available ? this.entries.get(key)?.entry : undefined;
  }

  async read(namespace: string, key: string): Promise<{ entry: CacheEntry | undefined } | undefined> {
    this.reads += 1;
    return this.available ? { entry: await this.get(namespace, key) } : undefined;
  }

  async generation(): Promise<string | undefined> {
    this.generationReads += 1;
    return this.available ? String(this.counter) : undefined;
  }

  async set(_namespace: string, key: string, entry: CacheEntry, lifetimeMs: number, condition: StoreCondition): Promise<boolean | undefined> {
    if (!this.available) return undefined;
    if (condition === 'write') this.counter += 1;
    else if (condition.loadedAt !== String(this.counter)) return false;
    this.entries.set(key, { entry, lifetimeMs });
    return true;
  }

  async delete(_namespace: string, keys: readonly string[]): Promise<number | undefined> {
    if (!this.available) return undefined;
    this.counter += 1;
    return keys.filter((key) => this.entries.delete(key)).length;
  }

  async deleteTagged(_namespace: string, tags: readonly string[]): Promise<number | undefined> {
    const tagged = [...this.entries].filter(([, { entry }]) => entry.tags?.some((tag) => tags.includes(tag)));
    return this.delete('', tagged.map(([key]) => key));
  }

  async clearNamespace(): Promise<number | undefined> {
    this.counter += 1;
    const size = this.entries.size;
    this.entries.clear();
    return size;
  }
}

const NAMESPACE = defineCacheNamespace({ name: 'things', ttl: '1m', description: 'unit test' });

function setup(overrides: Partial<ResolvedNamespace> = {}, withL2 = true) {
  const mocks = {
    l2: new FakeL2(),
    notify: jest.fn<ReturnType<InvalidationListener>, Parameters<InvalidationListener>>(),
    l1Trusted: true,
  };
  const settings: ResolvedNamespace = { definition: NAMESPACE, ttlMs: 60_000, l1TtlMs: 60_000, graceMs: 0, maxEntries: 100, ...overrides };
  const sut = new NamespaceCache(
    settings,
    new CacheKeyBuilder('app', '1'),
    withL2 ? (mocks.l2 as unknown as RedisTier) : null,
    mocks.notify,
    () => mocks.l1Trusted,
  );
  return { sut, mocks };
}


describe('NamespaceCache', () => {
  it('misses, then serves what was set from L1 and wrote it to L2 for the namespace TTL', async () => {
    const { sut, mocks } = setup();
    expect(await sut.get('k')).toBeUndefined();
    await sut.set('k', { answer: 42 });
    expect(await sut.get('k')).toEqual({ answer: 42 });
    expect(mocks.l2.entries.get('app:1:{things}:k')?.lifetimeMs).toBe(60_000);
    expect(sut.snapshot()).toMatchObject({ misses: 1, l1Hits: 1, l2Hits: 0, sets: 1, size: 1 });
  });

  it('reads L2 when L1 does not hold the key, and backfills L1', async () => {
    const { sut, mocks } = setup();
    mocks.l2.entries.set('app:1:{things}:k', { entry: { value: 'remote', freshUntil: Date.now() + 10_000 }, lifetimeMs: 10_000 });
    expect(await sut.get('k')).toBe('remote');
    mocks.l2.entries.clear();
    expect(await sut.get('k')).toBe('remote');
    expect(sut.snapshot()).toMatchObject({ l2Hits: 1, l1Hits: 1 });
  });

  it('answers an L2 hit with one read of the entry, and reads the generation only for a miss, before its loader', async () => {
    const { sut, mocks } = setup();
    mocks.l2.entries.set('app:1:{things}:hit', { entry: { value: 'remote', freshUntil: Date.now() + 10_000 }, lifetimeMs: 10_000 });
    expect(await sut.getOrLoad('hit', async () => 'loaded')).toEqual({ value: 'remote', status: 'HIT' });
    expect(await sut.get('other')).toBeUndefined();
    expect({ reads: mocks.l2.reads, generationReads: mocks.l2.generationReads }).toEqual({ reads: 2, generationReads: 0 });
    let generationReadsSeenByLoader = -1;
    await sut.getOrLoad('miss', async () => {
      generationReadsSeenByLoader = mocks.l2.generationReads;
      return 'loaded';
    });
    expect(generationReadsSeenByLoader).toBe(1);
  });

  it('stores ttl 0 without expiry in both tiers', async () => {
    const { sut, mocks } = setup();
    await sut.set('forever', 1, { ttl: 0 });
    expect(mocks.l2.entries.get('app:1:{things}:forever')).toEqual({ entry: { value: 1, freshUntil: Infinity }, lifetimeMs: Infinity });
    expect(await sut.getEntry('forever')).toEqual({ value: 1, expiresAt: undefined });
  });

  it('runs one loader for concurrent callers of a cold key', async () => {
    const { sut } = setup();
    const loader = jest.fn(async () => 'loaded');
    const results = await Promise.all(Array.from({ length: 50 }, () => sut.wrap('cold', loader)));
    expect(results.every((value) => value === 'loaded')).toBe(true);
    expect(loader).toHaveBeenCalledTimes(1);
    expect(sut.snapshot()).toMatchObject({ loads: 1 });
  });

  it('does not store a load that an invalidation overtook', async () => {
    const { sut, mocks } = setup();
    let finish!: (value: string) => void;
    const loading = sut.wrap('k', () => new Promise<string>((resolve) => (finish = resolve)));
    await Promise.resolve();
    await sut.delete('k');
    finish('old');
    expect(await loading).toBe('old');
    expect(await sut.get('k')).toBeUndefined();
    expect(mocks.l2.entries.size).toBe(0);
  });

  it('serves a value inside the grace window as STALE when the loader fails', async () => {
    const { sut } = setup({ ttlMs: 1, graceMs: 60_000 });
    await sut.set('k', 'old', { ttl: 1 });
    const later = Date.now() + 1_000;
    jest.spyOn(Date, 'now').mockReturnValue(later);
    try {
      const result = await sut.getOrLoad('k', async () => {
        throw new Error('down');
      });
      expect(result).toEqual({ value: 'old', status: 'STALE' });
    } finally {
      jest.restoreAllMocks();
    }
  });

  it('answers an Uncacheable result without storing or sharing it', async () => {
    const { sut, mocks } = setup();
    expect(await sut.wrap('k', async () => new Uncacheable('private'))).toBe('private');
    expect(await sut.get('k')).toBeUndefined();
    expect(mocks.l2.entries.size).toBe(0);
  });

  it('announces invalidations to the listener unless told not to, with full keys', async () => {
    const { sut, mocks } = setup();
    await sut.delete('a');
    await sut.invalidateTags('t');
    await sut.invalidate({ all: true }, { announce: false });
    expect(mocks.notify.mock.calls).toEqual([
      [{ namespace: 'things', keys: ['app:1:{things}:a'] }],
      [{ namespace: 'things', tags: ['t'] }],
    ]);
  });

  it('drops tagged entries from both tiers', async () => {
    const { sut, mocks } = setup();
    await sut.set('a', 1, { tags: ['t'] });
    await sut.set('b', 2, { tags: (value) => [`v${String(value)}`] });
    expect(await sut.invalidate({ tags: ['t'] })).toEqual({ l1Removed: 1, l2Removed: 1 });
    expect(await sut.get('a')).toBeUndefined();
    expect(mocks.l2.entries.has('app:1:{things}:b')).toBe(true);
  });

  it('keeps serving from L1 when L2 is unavailable, and reports the removal as deferred', async () => {
    const { sut, mocks } = setup();
    mocks.l2.available = false;
    await sut.set('k', 'v');
    expect(await sut.get('k')).toBe('v');
    expect(await sut.invalidate({ keys: [sut.key('k')] })).toEqual({ l1Removed: 1, l2Removed: undefined });
  });

  it('without L2 keeps an entry only in L1, and its tiers say so', async () => {
    const { sut } = setup({}, false);
    await sut.set('k', 'v');
    expect(sut.tiers).toEqual(['l1']);
    expect(sut.peek('k')).toBe('v');
  });

  it('does not store, in either tier, a value loaded across an invalidation that only L2 saw (another instance)', async () => {
    const { sut, mocks } = setup();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const load = sut.getOrLoad('k', async () => {
      await held;
      return 'old';
    });
    await new Promise((resolve) => setImmediate(resolve));
    mocks.l2.counter += 1;
    release();
    expect(await load).toEqual({ value: 'old', status: 'MISS' });
    expect(mocks.l2.entries.has('app:1:{things}:k')).toBe(false);
    expect(await sut.getOrLoad('k', async () => 'new')).toEqual({ value: 'new', status: 'MISS' });
  });

  it('keeps a loaded value out of L2 when L2 could not be read (its generation is unknown), and in L1', async () => {
    const { sut, mocks } = setup();
    mocks.l2.available = false;
    expect(await sut.getOrLoad('k', async () => 'v')).toEqual({ value: 'v', status: 'MISS' });
    mocks.l2.available = true;
    expect(mocks.l2.entries.size).toBe(0);
    expect(await sut.getOrLoad('k', async () => 'other')).toEqual({ value: 'v', status: 'HIT' });
  });

  it('while L1 is not trusted, keeps what it stores for at most UNTRUSTED_L1_LIFETIME_MS', async () => {
    const clock = controlledClock(1_000_000);
    try {
      const { sut, mocks } = setup({}, false);
      mocks.l1Trusted = false;
      await sut.set('k', 'v');
      expect(sut.peek('k')).toBe('v');
      await clock.advance(UNTRUSTED_L1_LIFETIME_MS + 1);
      expect(sut.peek('k')).toBeUndefined();
      mocks.l1Trusted = true;
      await sut.set('k', 'v');
      await clock.advance(UNTRUSTED_L1_LIFETIME_MS + 10);
      expect(sut.peek('k')).toBe('v');
    } finally {
      jest.restoreAllMocks();
    }
  });
});
