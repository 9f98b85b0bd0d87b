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
 * `cache`: a round trip through L2 — set (by the tier's store script), get and delete of a probe key
 * of this instance — within the probe's budget. Down when Redis refuses it (an error, a full or
 * read-only Redis, one whose ACL refuses scripts) or gives back
 * something else than was stored; up, with the time it took and the breaker's state, when it only
 * answers slower than `CACHE_L2_TIMEOUT_MS` or the breaker is open. The cache fails open: a slow
 * Redis makes cache reads miss, not requests fail, and every instance shares it, so failing
 * readiness for that would take every pod out of the Service. In the embedded mode it reports
 * `configured: false` and stays up.
 */
@Injectable()
export class CacheIndicator extends DependencyIndicator<'cache'> {
  /** One key per instance: instances probing one Redis together never read each other's entry. */
  private readonly probeKey: string;

  constructor(
    indicators: HealthIndicatorService,
    config: AppConfig,
    private readonly registry: CacheRegistry,
    @InjectCache(HEALTH_PROBE_CACHE) probeCache: NamespaceCache,
  ) {
    super('cache', indicators, config.health.checkTimeoutMs);
    this.probeKey = probeCache.key(['probe', randomUUID()]);
  }

  protected async probe(): Promise<ProbeOutcome> {
    const l2 = this.registry.l2;
    if (!l2) return { up: true, details: { configured: false } };
    const token = randomUUID();
    const startedAt = performance.now();
    const entry = await l2.probe(HEALTH_PROBE_CACHE.name, this.probeKey, { value: token, freshUntil: Date.now() + PROBE_ENTRY_LIFETIME_MS }, PROBE_ENTRY_LIFETIME_MS);
    if (entry?.value !== token) return { up: false, reason: 'the probe entry read back from Redis is not the one stored' };
    return { up: true, details: { durationMs: elapsedMs(startedAt), circuit: l2.circuitState } };
  }
}
