import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { CacheRegistry, defineCacheNamespace, InjectCache, type NamespaceCache } from '@app/cache';
import { AppConfig } from '@app/config';
import { DependencyIndicator, elapsedMs, type ProbeOutcome } from './dependency-indicator';

/** How long a probe entry may outlive a probe that could not delete it, in milliseconds. */
const PROBE_ENTRY_LIFETIME_MS = 10_000;

/**
 * Holds the readiness probe's key, so no feature can declare a namespace that collides with it.
 * The probe uses the L2 tier directly: an answer from L1 would prove nothing about Redis.
 */
export const HEALTH_PROBE_CACHE = defineCacheNamespace({
  name: 'health-probe',
  ttl: PROBE_ENTRY_LIFETIME_MS,
  maxEntries: 1,
  description: 'Readiness probe: one key per instance written, read back and deleted in L2 (Redis) only',
});

/**
 * `cache`: a round trip through L2 — set, get and delete of a probe key of this instance — under
 * the tier's own per-operation budget and circuit breaker, so it fails exactly when the cache
 * would. In the embedded mode it reports `configured: false` and stays up.
 */
@Injectable()
export class CacheIndicator extends DependencyIndicator<'cache'> {
  /** One key per instance: instances probing one Redis together never read each other's entry. */
  private readonly probeKey: string;

  constructor(
    indicators: HealthIndicatorService,
    config: AppConfig,
    private readonly registry: CacheRegistry,
    @InjectCache(HEALTH_PROBE_CACHE) private readonly probeCache: NamespaceCache,
  ) {
    super('cache', indicators, config.health.checkTimeoutMs);
    this.probeKey = probeCache.key(['probe', randomUUID()]);
  }

  protected async probe(): Promise<ProbeOutcome> {
    const l2 = this.registry.l2;
    if (!l2) return { up: true, details: { configured: false } };
    const namespace = this.probeCache.name;
    const token = randomUUID();
    const startedAt = performance.now();
    // The tier fails open (a failed write is skipped, a failed read is a miss), so reading the
    // token back is what proves the round trip.
    await l2.set(namespace, this.probeKey, { value: token, freshUntil: Date.now() + PROBE_ENTRY_LIFETIME_MS }, PROBE_ENTRY_LIFETIME_MS);
    const entry = await l2.get(namespace, this.probeKey);
    if (entry?.value !== token) {
      return {
        up: false,
        reason:
          l2.circuitState === 'open'
            ? 'circuit breaker open: Redis is skipped after repeated failures'
            : 'probe entry was not read back from Redis (error, or slower than CACHE_L2_TIMEOUT_MS)',
      };
    }
    await l2.discard(namespace, [this.probeKey]);
    return { up: true, details: { durationMs: elapsedMs(startedAt), circuit: l2.circuitState } };
  }
}
