import { Injectable, Optional } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { AppConfig } from '@app/config';
import { InjectRedis } from '@app/redis';
import type Redis from 'ioredis';
import { DependencyIndicator, elapsedMs, type ProbeOutcome } from './dependency-indicator';

/**
 * `redis`: a `PING` on the shared command connection, with its round-trip time (`durationMs`).
 * In the embedded mode (no `REDIS_URL`) it reports `configured: false` and stays up.
 */
@Injectable()
export class RedisIndicator extends DependencyIndicator<'redis'> {
  constructor(
    indicators: HealthIndicatorService,
    config: AppConfig,
    @Optional() @InjectRedis() private readonly redis: Redis | null,
  ) {
    super('redis', indicators, config.health.checkTimeoutMs);
  }

  protected async probe(): Promise<ProbeOutcome> {
    if (!this.redis) return { up: true, details: { configured: false } };
    // The connection does not queue commands while disconnected; say why instead of sending one.
    if (this.redis.status !== 'ready') return { up: false, reason: `connection is ${this.redis.status}` };
    const startedAt = performance.now();
    const reply = await this.redis.ping();
    if (reply !== 'PONG') return { up: false, reason: `PING answered ${JSON.stringify(reply)}` };
    return { up: true, details: { durationMs: elapsedMs(startedAt) } };
  }
}
