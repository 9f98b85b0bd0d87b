import type Redis from 'ioredis';
import { PendingRequestStore } from './pending-request-store';

/**
 * The Redis key of a pending request (docs/cursor-runner.md, "Pending requests"), without the
 * cache prefix: this is state that other deployments of the contract read, not a cache entry.
 */
export function pendingRequestKey(id: string): string {
  return `cursor_runner_callback:${id}`;
}

/** The key of a delivery claim: a request id never contains `:`, so it cannot name another entry. */
export function deliveryClaimKey(id: string): string {
  return `${pendingRequestKey(id)}:delivering`;
}

/**
 * Pending requests in Redis, shared by every instance, so the callback may reach any of them.
 * `SET key value EX ttl` writes the value and its expiry in one command: no entry ever exists
 * without its TTL, which `SET` followed by `EXPIRE` would allow if the process died between them.
 */
export class RedisPendingRequestStore extends PendingRequestStore {
  constructor(private readonly redis: Redis) {
    super();
  }

  protected async write(id: string, json: string, ttlSeconds: number): Promise<void> {
    await this.redis.set(pendingRequestKey(id), json, 'EX', ttlSeconds);
  }

  protected read(id: string): Promise<string | null> {
    return this.redis.get(pendingRequestKey(id));
  }

  protected async remove(id: string): Promise<void> {
    await this.redis.del(pendingRequestKey(id));
  }

  protected async claim(id: string, ttlSeconds: number): Promise<boolean> {
    return (await this.redis.set(deliveryClaimKey(id), '1', 'EX', ttlSeconds, 'NX')) === 'OK';
  }

  protected async unclaim(id: string): Promise<void> {
    await this.redis.del(deliveryClaimKey(id));
  }

  protected async removeWithClaim(id: string): Promise<void> {
    await this.redis.del(pendingRequestKey(id), deliveryClaimKey(id));
  }
}
