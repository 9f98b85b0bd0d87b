import { Injectable, Logger, OnApplicationShutdown, Optional } from '@nestjs/common';
import { AppConfig } from '@app/config';
import { InjectRedis, type RedisConnection } from '@app/redis';
import type { NamespaceStatsSnapshot } from './cache-stats';
import type { CircuitState } from './circuit-breaker';
import { CacheKeyBuilder } from './key-builder';
import { DEFAULT_NAMESPACE, type CacheNamespace } from './namespace';
import { NamespaceCache, type InvalidationListener, type InvalidationNotice } from './namespace-cache';
import { RedisTier } from './redis-tier';
import { toMilliseconds } from './ttl';

/** Ceiling of an L1 entry's life when Redis is configured, unless a namespace sets `l1Ttl`. */
const DEFAULT_L1_CEILING_MS = 60_000;

export interface CacheOverview {
  /** Whether L2 is configured at all (false in the embedded mode). */
  l2Configured: boolean;
  /** `closed` (using Redis), `open` (skipping it) or `half-open` (trying it); `disabled` when embedded. */
  circuit: CircuitState | 'disabled';
  circuitOpenings: number;
  pendingInvalidations: number;
  /** The cross-instance invalidation bus's own report, when the cache-invalidation module is installed. */
  invalidationBus?: object;
  namespaces: Record<string, NamespaceStatsSnapshot>;
}

/**
 * Owns every namespace of the process: builds each one's L1, shares the one L2 tier and the key
 * builder, and fans invalidation notices out to listeners (the cross-instance bus). Features do not
 * use it directly: they inject their namespace with `@InjectCache`.
 */
@Injectable()
export class CacheRegistry implements OnApplicationShutdown {
  readonly keys: CacheKeyBuilder;
  readonly l2: RedisTier | null;
  private readonly namespaces = new Map<string, NamespaceCache>();
  private readonly listeners = new Set<InvalidationListener>();
  private busStatus?: () => object;
  private l1Trusted = true;
  private readonly logger = new Logger('Cache');

  constructor(
    private readonly config: AppConfig,
    @Optional() @InjectRedis() redis: RedisConnection | null,
  ) {
    this.keys = new CacheKeyBuilder(config.cache.keyPrefix, config.cache.schemaVersion);
    this.l2 = redis
      ? new RedisTier(redis, this.keys, {
          timeoutMs: config.cache.l2TimeoutMs,
          // Invalidations are state, like the pending requests: the same budget as those commands.
          writeTimeoutMs: config.redisCommandTimeoutMs,
          breakerFailures: config.cache.breakerFailures,
          breakerCooldownMs: config.cache.breakerCooldownMs,
          onError: (namespace) => {
            const cache = this.namespaces.get(namespace);
            if (cache) cache.stats.l2Errors += 1;
          },
          // This instance may have refilled its own L1 from the entries too while their removal waited.
          onReplayed: (namespace, selection) => {
            this.namespaces.get(namespace)?.dropLocal(selection);
            void this.publish({ namespace, ...selection });
          },
        })
      : null;
  }

  onApplicationShutdown(): void {
    this.l2?.close();
  }

  /** The namespace's cache, created on first use; a second definition under one name is refused. */
  namespace(definition: CacheNamespace): NamespaceCache {
    const existing = this.namespaces.get(definition.name);
    if (existing) {
      if (existing.settings.definition !== definition) {
        throw new Error(`Cache namespace "${definition.name}" is declared twice; declare it once and import it`);
      }
      return existing;
    }
    const ttlMs =
      definition === DEFAULT_NAMESPACE ? this.config.cache.defaultTtlMs : toMilliseconds(definition.ttl);
    const maxEntries = definition.maxEntries ?? this.config.cache.l1MaxEntries;
    const cache = new NamespaceCache(
      {
        definition,
        ttlMs,
        l1TtlMs: definition.l1Ttl === undefined ? Math.min(ttlMs, DEFAULT_L1_CEILING_MS) : toMilliseconds(definition.l1Ttl),
        graceMs: definition.grace === undefined ? 0 : toMilliseconds(definition.grace),
        maxEntries,
      },
      this.keys,
      definition.shared === false ? null : this.l2,
      (notice) => this.publish(notice),
      () => this.l1Trusted,
    );
    this.namespaces.set(definition.name, cache);
    return cache;
  }

  /** A registered namespace by name, for operators' invalidation requests. */
  byName(name: string): NamespaceCache | undefined {
    return this.namespaces.get(name);
  }

  all(): NamespaceCache[] {
    return [...this.namespaces.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Subscribes to every announced invalidation (keys are full keys); the invalidating call awaits
   * the listener, so a broadcast is sent before a write returns. Returns the unsubscribe function.
   */
  onInvalidation(listener: InvalidationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Lets the invalidation bus show its own status in {@link overview} (`/admin/cache/stats`). */
  reportInvalidationBus(status: () => object): void {
    this.busStatus = status;
  }

  /** Drops every namespace's L1 on this instance (L2 untouched); returns how many entries went. */
  dropAllLocal(): number {
    let dropped = 0;
    for (const cache of this.namespaces.values()) dropped += cache.dropLocal({ all: true });
    return dropped;
  }

  /**
   * This instance may be missing other instances' invalidations (its subscription is silent):
   * empties every namespace's L1, and until {@link resyncL1} keeps what L1 stores for at most
   * `UNTRUSTED_L1_LIFETIME_MS`. Returns how many L1 entries went.
   */
  distrustL1(): number {
    this.l1Trusted = false;
    return this.dropAllLocal();
  }

  /**
   * The subscription is heard again: empties every namespace's L1 (it may hold what others
   * invalidated meanwhile), trusts L1 again, and replays at once the L2 invalidations this
   * instance could not apply during the outage. Returns how many L1 entries went.
   */
  resyncL1(): number {
    const dropped = this.dropAllLocal();
    this.l1Trusted = true;
    this.l2?.resume();
    return dropped;
  }

  overview(): CacheOverview {
    const namespaces: Record<string, NamespaceStatsSnapshot> = {};
    for (const cache of this.all()) namespaces[cache.name] = cache.snapshot();
    return {
      l2Configured: this.l2 !== null,
      circuit: this.l2 ? this.l2.circuitState : 'disabled',
      circuitOpenings: this.l2?.circuitOpenings ?? 0,
      pendingInvalidations: this.l2?.pendingInvalidations() ?? 0,
      ...(this.busStatus ? { invalidationBus: this.busStatus() } : {}),
      namespaces,
    };
  }

  /** Each listener is guarded on its own: one failing never stops the others or the write. */
  private async publish(notice: InvalidationNotice): Promise<void> {
    await Promise.all(
      [...this.listeners].map(async (listener) => {
        try {
          await listener(notice);
        } catch (error) {
          this.logger.error(
            `Invalidation listener failed for namespace ${notice.namespace}: ${(error as Error).message}`,
          );
        }
      }),
    );
  }
}
