import { Injectable, Optional } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { AppConfig } from '@app/config';
import { InjectRedis, type RedisConnection } from '@app/redis';
import { Cluster } from 'ioredis';
import { DependencyIndicator, describeError, elapsedMs, type ProbeOutcome } from './dependency-indicator';

/**
 * `redis`: a `PING` on the shared command connection, with its round-trip time (`durationMs`).
 * On a Cluster, a `PING` to every primary the client routes to and `CLUSTER INFO` saying
 * `cluster_state:ok`: a primary that is down (until a replica has taken its slots) is an outage of
 * the keys it owns, so readiness reports it. In the embedded mode (no Redis configured) it reports
 * `configured: false` and stays up.
 */
@Injectable()
export class RedisIndicator extends DependencyIndicator<'redis'> {
  constructor(
    indicators: HealthIndicatorService,
    config: AppConfig,
    @Optional() @InjectRedis() private readonly redis: RedisConnection | null,
  ) {
    super('redis', indicators, config.health.checkTimeoutMs);
  }

  protected async probe(): Promise<ProbeOutcome> {
    if (!this.redis) return { up: true, details: { configured: false } };
    // The connection does not queue commands while disconnected; say why instead of sending one.
    if (this.redis.status !== 'ready') return { up: false, reason: `connection is ${this.redis.status}` };
    const startedAt = performance.now();
    if (this.redis instanceof Cluster) return this.probeCluster(this.redis, startedAt);
    const reply = await this.redis.ping();
    if (reply !== 'PONG') return { up: false, reason: `PING answered ${JSON.stringify(reply)}` };
    return { up: true, details: { durationMs: elapsedMs(startedAt) } };
  }

  private async probeCluster(cluster: Cluster, startedAt: number): Promise<ProbeOutcome> {
    const primaries = cluster.nodes('master');
    const replies = await Promise.allSettled(primaries.map((node) => node.ping()));
    const failed = replies.findIndex((reply) => reply.status === 'rejected');
    if (failed >= 0) {
      // The client learns of a promoted replica on a MOVED or its periodic refresh; ask now, so the
      // probe after a failover sees the new primary rather than the dead one.
      cluster.refreshSlotsCache();
      const { host, port } = primaries[failed].options;
      const reason = describeError((replies[failed] as PromiseRejectedResult).reason);
      return { up: false, reason: `primary ${host}:${port} does not answer: ${reason}` };
    }
    const info = await cluster.cluster('INFO');
    if (!info.includes('cluster_state:ok')) return { up: false, reason: 'CLUSTER INFO does not say cluster_state:ok' };
    return { up: true, details: { durationMs: elapsedMs(startedAt), primaries: primaries.length } };
  }
}
