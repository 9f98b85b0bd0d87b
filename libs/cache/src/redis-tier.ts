import { createHash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { redisInsStore } from 'cache-manager-ioredis-yet';
import { nodeFor, type RedisConnection } from '@app/redis';
import type { CacheEntry } from './cache-entry';
import { CircuitBreaker, type CircuitState } from './circuit-breaker';
import type { CacheKeyBuilder } from './key-builder';
import { decodeEntry, decodeStoredEntry, encodeEntry, storedForm } from './entry-codec';
import { withTimeout } from '@app/common';

export interface RedisTierOptions {
  /** Longest one L2 read or cached store may take before it counts as failed, in milliseconds. */
  timeoutMs: number;
  /**
   * Longest an invalidation or an explicit write may take, in milliseconds. Longer than a read's:
   * a read that gives up costs one load, a removal that gives up leaves other instances reading the
   * entry it was to remove (until it is replayed). One removal of many tags takes Redis tens of ms.
   */
  writeTimeoutMs: number;
  /** Consecutive failures that open the circuit breaker. */
  breakerFailures: number;
  /** How long an open breaker skips Redis, in milliseconds. */
  breakerCooldownMs: number;
  /**
   * Longest a caller waits for a namespace-wide clear (SCAN + UNLINK), in milliseconds (default 5 000).
   * The clear itself goes on to its end: its SCAN walks every key of the database, not only the
   * namespace's, so on a large keyspace it takes longer than any fixed budget; each of its commands
   * has the client's own timeout.
   */
  clearTimeoutMs?: number;
  /** Called once per failed operation with the namespace it served, for statistics. */
  onError?: (namespace: string) => void;
  /**
   * Called when remembered invalidations of a namespace have reached Redis. Other instances may
   * have refilled their L1 from those entries meanwhile, so they must be told again.
   */
  onReplayed?: (namespace: string, selection: ReplayedInvalidation) => void;
}

/** A namespace clear under way, which the clears asked for before it starts share. */
interface RunningClear {
  removed: Promise<number | undefined>;
  /** Its SCAN has begun: a clear asked for now must run after it. */
  started: boolean;
  /** A caller stopped waiting before the end: the end is then reported as a replay. */
  callerGaveUp: boolean;
}

const STILL_CLEARING = Symbol('still clearing');

/**
 * An L2 operation's time budget and whether it waits for an open breaker. Reads and the stores of
 * loaded values are skipped while the breaker is open, which is what keeps a hung Redis from
 * slowing requests. Invalidations and explicit writes are always tried: skipped, they would leave
 * the entry they replace in Redis for the other instances to read back into their L1 once this
 * instance's event made them drop it — an instance whose breaker some slow reads opened, though
 * Redis answers, would have its writes undone elsewhere for a cooldown or more.
 */
interface Budget {
  timeoutMs?: number;
  pastOpenBreaker?: boolean;
}
const READ: Budget = {};
const WRITE: Budget = { pastOpenBreaker: true };

/** What a replay removed from one namespace (keys are full keys). */
export interface ReplayedInvalidation {
  keys?: string[];
  tags?: string[];
  all?: boolean;
}

/** Raised when an L2 operation outlives its budget; the command may still complete later. */
export class L2TimeoutError extends Error {
  override readonly name = 'L2TimeoutError';
}

/**
 * A Lua script sent by its SHA1 (`EVALSHA`): Redis neither receives nor hashes its source on every
 * call. A server that does not know it yet (first use, a restart, a failover) answers `NOSCRIPT`,
 * and the script is sent once with `EVAL`, which also caches it there.
 */
class LuaScript {
  private readonly sha: string;

  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(client: RedisConnection, numberOfKeys: number, ...args: (string | number)[]): Promise<unknown> {
    try {
      return await this.runBySha(client, numberOfKeys, ...args);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return this.runBySource(client, numberOfKeys, ...args);
    }
  }

  /** `EVALSHA` alone, sent at once; rejects `NOSCRIPT` when the server does not know the script. */
  runBySha(client: RedisConnection, numberOfKeys: number, ...args: (string | number)[]): Promise<unknown> {
    return client.evalsha(this.sha, numberOfKeys, ...args);
  }

  /** `EVAL` with the source, sent at once; the server caches the script for later `EVALSHA`s. */
  runBySource(client: RedisConnection, numberOfKeys: number, ...args: (string | number)[]): Promise<unknown> {
    return client.eval(this.source, numberOfKeys, ...args);
  }
}

const isNoScript = (error: unknown): boolean => error instanceof Error && error.message.startsWith('NOSCRIPT');

/**
 * Deletes the entries listed in the tag indexes (KEYS[2..]) and the indexes themselves, and bumps
 * the namespace's generation (KEYS[1]), in one atomic step: an entry stored before it is deleted
 * with it (its index membership was written with it), and a store of a value loaded before it is
 * refused (see {@link STORE_SCRIPT}). Returns how many entries existed and were removed.
 */
const UNLINK_TAGGED_SCRIPT = new LuaScript(`
redis.call('INCR', KEYS[1])
local removed = 0
for i = 2, #KEYS do
  local members = redis.call('ZRANGE', KEYS[i], 0, -1)
  for j = 1, #members, 500 do
    removed = removed + redis.call('UNLINK', unpack(members, j, math.min(j + 499, #members)))
  end
  redis.call('UNLINK', KEYS[i])
end
return removed`);

/** Bumps the namespace's generation (KEYS[1]) and deletes the entries KEYS[2..] in one step. */
const UNLINK_KEYS_SCRIPT = new LuaScript(`
redis.call('INCR', KEYS[1])
return redis.call('UNLINK', unpack(KEYS, 2))`);

/**
 * Removes from the tag index KEYS[1] the members ARGV[1..] whose entries no longer exist, in one
 * step: a store re-adding one of them (its entry and its membership together, {@link STORE_SCRIPT})
 * runs wholly before this, and keeps it, or wholly after. An index left empty is gone (Redis drops
 * an empty sorted set). Returns how many members were removed.
 */
const PRUNE_INDEX_SCRIPT = new LuaScript(`
local removed = 0
for i = 1, #ARGV do
  if redis.call('EXISTS', ARGV[i]) == 0 then removed = removed + redis.call('ZREM', KEYS[1], ARGV[i]) end
end
return removed`);

/**
 * Stores an entry (KEYS[1]) and adds it to its tag indexes (KEYS[3..]) in one step, unless the
 * namespace's generation (KEYS[2]) is no longer ARGV[1] — an invalidation or a write ran since the
 * value was loaded, so storing it could undo a write. ARGV[1] `+` is an explicit write: stored
 * unconditionally, and the generation moved with it, so a load that began before it is not stored
 * after it. ARGV[2] is the stored value, ARGV[3] its lifetime in ms
 * (`inf`: no expiry), ARGV[4] now (epoch ms). Tag indexes
 * are scored by expiry so members whose entries are gone are trimmed: the index of a tag that keeps
 * receiving new keys holds only live ones, and it expires with its longest-lived entry.
 * Returns 1 stored, 0 refused.
 */
const STORE_SCRIPT = new LuaScript(`
if ARGV[1] == '+' then redis.call('INCR', KEYS[2]) elseif (redis.call('GET', KEYS[2]) or '0') ~= ARGV[1] then return 0 end
local forever = ARGV[3] == 'inf'
local now = tonumber(ARGV[4])
if forever then redis.call('SET', KEYS[1], ARGV[2]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
for i = 3, #KEYS do
  if forever then
    redis.call('ZADD', KEYS[i], '+inf', KEYS[1])
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
    redis.call('PERSIST', KEYS[i])
  else
    local lifetime = tonumber(ARGV[3])
    redis.call('ZADD', KEYS[i], now + lifetime, KEYS[1])
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
    redis.call('PEXPIRE', KEYS[i], lifetime, 'NX')
    redis.call('PEXPIRE', KEYS[i], lifetime, 'GT')
  end
end
return 1`);

/**
 * How a store relates to the namespace's generation: a loaded value (`loadedAt`, the generation read
 * before its load) is stored only if no invalidation or explicit write moved it since; an explicit
 * `write` moves it, so a load that began before the write is not stored after it.
 */
export type StoreCondition = { loadedAt: string } | 'write';

/** The part of `cache-manager-ioredis-yet`'s store this tier uses (its typings target cache-manager 5). */
interface EntryStore {
  get(key: string): Promise<unknown>;
}

const found = (stored: string | null): { entry: CacheEntry | undefined } => ({ entry: decodeStoredEntry(stored) });

const SCAN_BATCH = 500;

/** How many keys and tags a remembered invalidation holds; a whole-namespace one counts as one. */
const selectorsOf = (pending: PendingInvalidation): number => (pending.all ? 1 : pending.keys.size + pending.tags.size);
/** Invalidations remembered while Redis is unreachable, replayed when it answers again. */
const MAX_PENDING_INVALIDATIONS = 10_000;

interface PendingInvalidation {
  keys: Set<string>;
  tags: Set<string>;
  all: boolean;
}

/**
 * L2: Redis through `cache-manager-ioredis-yet` on the process's shared ioredis client, shared by
 * every namespace. It fails open and fast: each operation has a short budget, the client does not
 * queue while disconnected, a failure is a miss (read) or a skipped write, and after repeated
 * failures a circuit breaker skips Redis entirely until a trial call succeeds. An outage is logged
 * once when it starts, once when the breaker opens and once when Redis is back — never per call.
 *
 * Invalidations that could not reach Redis are remembered (bounded) and replayed on recovery, so
 * an entry deleted during an outage does not come back from L2 afterwards. Recovery is noticed
 * without waiting for traffic: when the client's connection is ready again, and by a retry every
 * breaker cooldown while anything is remembered — an instance cut off from Redis alone, whose
 * write other instances cannot hear of, must not leave them reading the old entry until its next
 * request happens to touch Redis (docs/caching.md, "Redis unreachable from one instance").
 */
export class RedisTier {
  private readonly store: EntryStore;
  private readonly breaker: CircuitBreaker;
  private readonly logger = new Logger('Cache');
  private healthy = true;
  private failuresThisOutage = 0;
  /** Namespaces a value could not be encoded for, warned about once. */
  private readonly unstorableWarned = new Set<string>();
  private readonly pending = new Map<string, PendingInvalidation>();
  /** Namespace clears under way. */
  private readonly clearing = new Map<string, RunningClear>();
  private pendingCount = 0;
  private replaying = false;
  /** Selectors of the batch a replay is running now: still pending until it has reached Redis. */
  private replayingSelectors = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly onClientReady = () => {
    if (this.pending.size > 0) this.resume();
  };

  constructor(
    readonly client: RedisConnection,
    private readonly keys: CacheKeyBuilder,
    private readonly options: RedisTierOptions,
  ) {
    this.store = redisInsStore(client) as unknown as EntryStore;
    this.breaker = new CircuitBreaker({
      failureThreshold: options.breakerFailures,
      cooldownMs: options.breakerCooldownMs,
    });
    client.on('ready', this.onClientReady);
  }

  /** Stops watching the client and retrying; what is still remembered is given up. */
  close(): void {
    this.client.off('ready', this.onClientReady);
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  get circuitState(): CircuitState {
    return this.breaker.state;
  }

  get circuitOpenings(): number {
    return this.breaker.opened;
  }

  /**
   * The readiness probe's round trip on `key` of `namespace`: `entry` stored by this tier's store
   * script, run by its SHA as every cache write runs it — so a Redis that refuses scripts (an ACL
   * without `@scripting` or `evalsha`) is told apart from one that works; by its source once more
   * when Redis answers that it lost its scripts — then read back through
   * `cache-manager-ioredis-yet`'s store (so readiness also proves the stock store reads what this
   * tier writes), and deleted with the generation the script moved (`namespace` is the probe's own:
   * nothing else is stored in it, so nothing depends on that generation). Outside the breaker and
   * the read budget, and throwing what Redis answered: a Redis slower than cache reads allow still
   * answers, and is told apart from one that fails. The three commands leave together, in order on
   * the one connection: one round trip, as the `PING` beside it, so a slow Redis is not judged three
   * times slower than it is. Returns what was read back.
   */
  async probe(namespace: string, key: string, entry: CacheEntry, lifetimeMs: number): Promise<CacheEntry | undefined> {
    const generation = this.keys.generation(namespace);
    const args = [key, generation, '+', storedForm(encodeEntry(entry)), String(Math.max(1, Math.round(lifetimeMs))), Date.now()];
    try {
      return await this.probeRoundTrip(STORE_SCRIPT.runBySha(this.client, 2, ...args), key, generation);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      // Redis lost its scripts (a restart, SCRIPT FLUSH): the source loads it again, as a cache write's would.
      return this.probeRoundTrip(STORE_SCRIPT.runBySource(this.client, 2, ...args), key, generation);
    }
  }

  /** The store already sent, then the stock store's read and the delete, on the same connection. */
  private async probeRoundTrip(stored: Promise<unknown>, key: string, generation: string): Promise<CacheEntry | undefined> {
    const [, readBack] = await Promise.all([stored, this.store.get(key), this.client.unlink(key, generation)]);
    return decodeEntry(readBack);
  }

  /**
   * The read path of every L2 lookup: one `GET` on the same client, the stored string decoded
   * without the store's telejson pass (see {@link decodeStoredEntry}). Resolves `{ entry }`
   * (`undefined` when absent or malformed), or `undefined` when Redis is unavailable. A hit needs
   * nothing else; a caller about to load a missing value reads {@link generation} first.
   */
  async read(namespace: string, key: string): Promise<{ entry: CacheEntry | undefined } | undefined> {
    return this.attempt(namespace, 'get', READ, () => this.client.get(key).then(found));
  }

  /**
   * The namespace's generation, `undefined` when Redis is unavailable. Read before a loader runs
   * and passed to {@link set}: an invalidation anywhere between this read and the store makes the
   * store a no-op, so a value loaded before an invalidation is never stored after it.
   */
  async generation(namespace: string): Promise<string | undefined> {
    return this.attempt(namespace, 'get', READ, () => this.client.get(this.keys.generation(namespace)).then((value) => value ?? '0'));
  }

  /**
   * Stores `entry` for `lifetimeMs` (`Infinity`: no expiry) together with its tag-index membership,
   * atomically. See {@link StoreCondition} for how it relates to the namespace's generation.
   * Resolves true when stored, false when refused, `undefined` when Redis is unavailable.
   */
  async set(namespace: string, key: string, entry: CacheEntry, lifetimeMs: number, condition: StoreCondition): Promise<boolean | undefined> {
    const lifetime = Number.isFinite(lifetimeMs) ? String(Math.max(1, Math.round(lifetimeMs))) : 'inf';
    const stored = this.storable(namespace, entry);
    if (stored === undefined) return undefined;
    const indexes = (entry.tags ?? []).map((tag) => this.keys.tagIndex(namespace, tag));
    const budget = condition === 'write' ? WRITE : READ;
    return this.attempt(namespace, 'set', budget, async () => {
      const outcome = await STORE_SCRIPT.run(
        this.client,
        2 + indexes.length,
        key,
        this.keys.generation(namespace),
        ...indexes,
        condition === 'write' ? '+' : condition.loadedAt,
        stored,
        lifetime,
        Date.now(),
      );
      return Number(outcome) === 1;
    });
  }

  /**
   * What Redis is given for `entry`, or `undefined` when its value cannot be encoded (a `Symbol`, a
   * function among its values): the value is then kept out of L2 like one Redis could not take —
   * counted as an L2 error, warned about once per namespace, never thrown to the caller, whose
   * method has already run. Redis itself is not at fault, so the breaker is left alone.
   */
  private storable(namespace: string, entry: CacheEntry): string | undefined {
    try {
      return storedForm(encodeEntry(entry));
    } catch (error) {
      this.options.onError?.(namespace);
      if (!this.unstorableWarned.has(namespace)) {
        this.unstorableWarned.add(namespace);
        this.logger.warn(
          `Cache L2: a value of namespace ${namespace} cannot be encoded for Redis and is kept in L1 only (${(error as Error).message}); ` +
            'cache plain data (docs/caching.md, "What comes back")',
        );
      }
      return undefined;
    }
  }

  /**
   * Deletes entries and returns how many existed; `undefined` when Redis is unavailable, in which
   * case the deletion is remembered and replayed once Redis answers again.
   */
  async delete(namespace: string, keys: readonly string[]): Promise<number | undefined> {
    if (keys.length === 0) return 0;
    const removed = await this.attempt(namespace, 'delete', WRITE, async () =>
      Number(await UNLINK_KEYS_SCRIPT.run(this.client, keys.length + 1, this.keys.generation(namespace), ...keys)),
    );
    if (removed === undefined) this.remember(namespace, { keys });
    return removed;
  }

  /** Deletes every entry carrying one of `tags`, atomically per call; counts as {@link delete}. */
  async deleteTagged(namespace: string, tags: readonly string[]): Promise<number | undefined> {
    if (tags.length === 0) return 0;
    const indexes = tags.map((tag) => this.keys.tagIndex(namespace, tag));
    const removed = await this.attempt(
      namespace,
      'delete-tagged',
      WRITE,
      async () =>
        Number(
          await UNLINK_TAGGED_SCRIPT.run(this.client, indexes.length + 1, this.keys.generation(namespace), ...indexes),
        ),
    );
    if (removed === undefined) this.remember(namespace, { tags });
    return removed;
  }

  /**
   * Deletes every key of the namespace with SCAN + UNLINK (never KEYS); counts entries as {@link
   * delete}. Resolves with the entries removed, or `undefined` when the clear is not done within
   * `clearTimeoutMs`: it failed (then it is remembered and replayed, as a delete is), or it is still
   * walking a large keyspace — then it goes on, and when it ends the namespace is reported as
   * replayed (`onReplayed`: every instance drops its L1 again). One clear of a namespace runs at a
   * time: a call while one runs waits for it and then clears again (entries stored meanwhile are
   * its to remove too), and the calls made before that second clear begins share it. A long clear
   * is no failure: only a command that fails or times out counts against the breaker.
   */
  async clearNamespace(namespace: string): Promise<number | undefined> {
    const clearing = this.nextClear(namespace);
    const waitMs = this.options.clearTimeoutMs ?? 5_000;
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<typeof STILL_CLEARING>((resolve) => {
      timer = setTimeout(() => resolve(STILL_CLEARING), waitMs);
    });
    const outcome = await Promise.race([clearing.removed, waited]);
    clearTimeout(timer);
    if (outcome !== STILL_CLEARING) return outcome;
    clearing.callerGaveUp = true;
    return undefined;
  }

  private nextClear(namespace: string): RunningClear {
    const latest = this.clearing.get(namespace);
    if (latest && !latest.started) return latest;
    const next: RunningClear = { started: false, callerGaveUp: false, removed: Promise.resolve(undefined) };
    const previousEnded = latest ? latest.removed.then(() => undefined) : Promise.resolve();
    next.removed = previousEnded.then(() => this.runClear(namespace, next));
    this.clearing.set(namespace, next);
    return next;
  }

  private async runClear(namespace: string, running: RunningClear): Promise<number | undefined> {
    running.started = true;
    const started = Date.now();
    try {
      const removed = await this.clearKeys(namespace);
      this.onSuccess();
      if (running.callerGaveUp) {
        this.logger.log(`Cache L2: namespace ${namespace} cleared after ${Date.now() - started} ms (${removed} entries); telling every instance`);
        this.options.onReplayed?.(namespace, { all: true });
      }
      return removed;
    } catch (error) {
      this.onFailure(namespace, 'clear', error as Error);
      this.remember(namespace, { all: true });
      return undefined;
    } finally {
      if (this.clearing.get(namespace) === running) this.clearing.delete(namespace);
    }
  }

  private async clearKeys(namespace: string): Promise<number> {
    // First, so a load that started before the clear cannot store behind the SCAN's cursor.
    await this.client.incr(this.keys.generation(namespace));
    // The namespace's keys share its hash tag: on a Cluster they all live on the node that
    // owns the generation's slot, and only that node is scanned.
    const node = nodeFor(this.client, this.keys.generation(namespace));
    // Entries first, while their tag indexes still list them: a write evicting a tag meanwhile
    // finds every entry not yet unlinked. Then the indexes lose only the members whose entries
    // are gone: an entry stored meanwhile (a load begun after the bump, another instance's write)
    // keeps the membership it was stored with. Deleting the indexes whole left such an entry out
    // of reach of every later write's tag eviction until its TTL; deleting them before the
    // entries left the old entries out of reach of a write made between the two passes.
    const entries = await this.unlinkMatching(node, `${this.keys.namespacePrefix(namespace)}*`);
    await this.pruneIndexes(node, this.keys.tagIndexPattern(namespace));
    return entries;
  }

  /**
   * Removes from each tag index matching `pattern` the members whose entries are gone ({@link
   * PRUNE_INDEX_SCRIPT}). The indexes of one SCAN page are pruned side by side, their commands
   * pipelined on the connection, so a namespace of many small indexes costs a few round trips a page.
   */
  private async pruneIndexes(node: RedisConnection, pattern: string): Promise<void> {
    let cursor = '0';
    do {
      const [next, indexes] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_BATCH);
      cursor = next;
      await Promise.all(indexes.map((index) => this.pruneIndex(node, index)));
    } while (cursor !== '0');
  }

  private async pruneIndex(node: RedisConnection, index: string): Promise<void> {
    let cursor = '0';
    do {
      const [next, page] = await node.zscan(index, cursor, 'COUNT', SCAN_BATCH);
      cursor = next;
      // ZSCAN answers member, score, member, score…
      const members = page.filter((_, position) => position % 2 === 0);
      if (members.length > 0) await PRUNE_INDEX_SCRIPT.run(node, 1, index, ...members);
    } while (cursor !== '0');
  }

  private async unlinkMatching(node: RedisConnection, pattern: string): Promise<number> {
    let cursor = '0';
    let removed = 0;
    do {
      const [next, found] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_BATCH);
      cursor = next;
      if (found.length > 0) removed += await node.unlink(...found);
    } while (cursor !== '0');
    return removed;
  }

  /**
   * Runs `operation` within its budget, and under the breaker unless it goes past an open one.
   * Returns its result, or `undefined` when it failed, timed out or was skipped — the caller treats
   * that as a miss or a skipped write.
   */
  private async attempt<T>(namespace: string, operation: string, budget: Budget, run: () => Promise<T>): Promise<T | undefined> {
    const timeoutMs = budget.timeoutMs ?? (budget === WRITE ? this.options.writeTimeoutMs : this.options.timeoutMs);
    if (!budget.pastOpenBreaker && !this.breaker.allows()) {
      this.options.onError?.(namespace);
      return undefined;
    }
    try {
      const result = await withTimeout(run(), timeoutMs, () => new L2TimeoutError(`timed out after ${timeoutMs} ms`));
      this.onSuccess();
      return result;
    } catch (error) {
      this.onFailure(namespace, operation, error as Error);
      return undefined;
    }
  }

  /**
   * Redis is known to answer again (the invalidation subscription heard it, or the client's
   * connection is ready): closes the breaker and replays the remembered invalidations now instead
   * of after the breaker's cooldown.
   */
  resume(): void {
    this.onSuccess();
    void this.replayPending();
  }

  private onSuccess(): void {
    const closed = this.breaker.recordSuccess();
    if (!this.healthy || closed) {
      this.logger.log(`Cache L2 (Redis) is back after ${this.failuresThisOutage} failed operations`);
      this.healthy = true;
      this.failuresThisOutage = 0;
      void this.replayPending();
    }
  }

  private onFailure(namespace: string, operation: string, error: Error): void {
    this.options.onError?.(namespace);
    this.failuresThisOutage += 1;
    if (this.healthy) {
      this.healthy = false;
      this.logger.warn(
        `Cache L2 (Redis) failing, serving from L1 and loaders (namespace=${namespace}, operation=${operation}): ${error.message}`,
      );
    }
    if (this.breaker.recordFailure()) {
      this.logger.warn(
        `Cache L2 circuit open after ${this.failuresThisOutage} failures: Redis skipped for ${this.options.breakerCooldownMs} ms`,
      );
    }
  }

  private remember(namespace: string, invalidation: { keys?: readonly string[]; tags?: readonly string[]; all?: boolean }): void {
    let pending = this.pending.get(namespace);
    if (!pending) this.pending.set(namespace, (pending = { keys: new Set(), tags: new Set(), all: false }));
    if (pending.all) return;
    for (const key of invalidation.keys ?? []) pending.keys.add(key);
    for (const tag of invalidation.tags ?? []) pending.tags.add(tag);
    this.pendingCount += (invalidation.keys?.length ?? 0) + (invalidation.tags?.length ?? 0);
    // Past the bound, clearing the whole namespace is the one replay that stays correct.
    if (invalidation.all || this.pendingCount > MAX_PENDING_INVALIDATIONS) {
      pending.all = true;
      pending.keys.clear();
      pending.tags.clear();
    }
    this.scheduleRetry();
  }

  /** One replay after a breaker cooldown (a half-open breaker lets it through as the trial call). */
  private scheduleRetry(): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.replayPending();
    }, this.options.breakerCooldownMs);
    this.retryTimer.unref();
  }

  /** Invalidations waiting for Redis, per namespace (for the stats endpoint). */
  pendingInvalidations(): number {
    let count = this.replayingSelectors;
    for (const pending of this.pending.values()) count += selectorsOf(pending);
    return count;
  }

  private async replayPending(): Promise<void> {
    if (this.replaying || this.pending.size === 0) return;
    this.replaying = true;
    const batches = [...this.pending.entries()];
    this.pending.clear();
    this.pendingCount = 0;
    let replayed = 0;
    try {
      // What fails again is remembered again by the operation itself; only what reached Redis is reported.
      for (const [namespace, pending] of batches) {
        this.replayingSelectors = selectorsOf(pending);
        const done = await this.replay(namespace, pending);
        this.replayingSelectors = 0;
        if (!done) continue;
        replayed += 1;
        this.options.onReplayed?.(namespace, done);
      }
      if (replayed > 0) this.logger.log(`Cache L2: replayed invalidations of ${replayed} namespace(s) missed during the outage`);
    } finally {
      this.replaying = false;
      this.replayingSelectors = 0;
    }
  }

  /** Runs one namespace's remembered invalidations; returns the part that reached Redis, if any. */
  private async replay(namespace: string, pending: PendingInvalidation): Promise<ReplayedInvalidation | undefined> {
    if (pending.all) return (await this.clearNamespace(namespace)) === undefined ? undefined : { all: true };
    const keys = [...pending.keys];
    const tags = [...pending.tags];
    const keysRemoved = keys.length > 0 && (await this.delete(namespace, keys)) !== undefined;
    const tagsRemoved = tags.length > 0 && (await this.deleteTagged(namespace, tags)) !== undefined;
    if (!keysRemoved && !tagsRemoved) return undefined;
    return { ...(keysRemoved ? { keys } : {}), ...(tagsRemoved ? { tags } : {}) };
  }
}
