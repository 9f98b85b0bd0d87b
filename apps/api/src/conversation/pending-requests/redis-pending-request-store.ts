import { randomUUID } from 'node:crypto';
import { claimWithToken, extendWithToken, releaseWithToken, type RedisConnection } from '@app/redis';
import { PendingRequestStore } from './pending-request-store';

/**
 * The Redis key of a pending request (docs/cursor-runner.md, "Pending requests"), without the
 * cache prefix: this is state that other deployments of the contract read, not a cache entry.
 */
export function pendingRequestKey(id: string): string {
  return `cursor_runner_callback:${id}`;
}

/**
 * The request's keys below carry its pending key as their hash tag, so on a Redis Cluster they hash
 * to the pending key's own slot (a key without braces hashes whole) and one command may touch them
 * together, while the contract's key itself stays as other deployments read it.
 */
function slotted(id: string): string {
  return `{${pendingRequestKey(id)}}`;
}

/** The key of a delivery claim: a request id never contains `:` or braces, so it cannot name another entry. */
export function deliveryClaimKey(id: string): string {
  return `${slotted(id)}:delivering`;
}

/** The key of the mark that the user was told a callback of the request was refused. */
export function refusalNoticeKey(id: string): string {
  return `${slotted(id)}:refusal-noticed`;
}

/** The key of a result kept for `GET /cursor-runner/requests/:id`; outlives the pending request. */
export function keptResultKey(id: string): string {
  return `${slotted(id)}:result`;
}

/**
 * Sets KEYS[1] to ARGV[1] for ARGV[2] seconds unless it or the kept result (KEYS[2]) exists; 1 when
 * set, or when KEYS[1] already holds ARGV[1] (this very call, run again after a broken connection).
 */
const SET_IF_FREE_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then return 1 end
if current or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
`;

/**
 * Returns the members of the sorted set KEYS[1] scored up to ARGV[1], at most ARGV[2] of them, each
 * scored ARGV[3] from then on (leased: no one else takes it until then).
 */
const LEASE_DUE_SCRIPT = `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, id in ipairs(due) do redis.call('ZADD', KEYS[1], 'XX', ARGV[3], id) end
return due
`;

/** Deletes KEYS[1] if it holds exactly ARGV[1]. */
const DELETE_IF_HOLDS_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * Pending requests in Redis, shared by every instance, so the callback may reach any of them.
 * `SET key value EX ttl` writes the value and its expiry in one command: no entry ever exists
 * without its TTL, which `SET` followed by `EXPIRE` would allow if the process died between them.
 */
export class RedisPendingRequestStore extends PendingRequestStore {
  /**
   * @param deadlinesKey the sorted set of Telegram requests' deadlines (request id → epoch
   *   milliseconds): this app's own key, under its `CACHE_KEY_PREFIX`, unlike the contract's entries.
   */
  constructor(
    private readonly redis: RedisConnection,
    private readonly deadlinesKey: string,
  ) {
    super();
  }

  protected async write(id: string, json: string, ttlSeconds: number): Promise<void> {
    await this.redis.set(pendingRequestKey(id), json, 'EX', ttlSeconds);
  }

  /** A command of its own: the set has its own slot on a Cluster, the entry another. */
  protected async writeDeadline(id: string, dueInMs: number): Promise<void> {
    await this.redis.zadd(this.deadlinesKey, Date.now() + dueInMs, id);
  }

  protected async leaseDue(limit: number, leaseMs: number): Promise<string[]> {
    const now = Date.now();
    return (await this.redis.eval(LEASE_DUE_SCRIPT, 1, this.deadlinesKey, now, limit, now + leaseMs)) as string[];
  }

  protected async removeDeadline(id: string): Promise<void> {
    await this.redis.zrem(this.deadlinesKey, id);
  }

  /** The pending key and the kept result's share a slot (see {@link slotted}), so one script reads both on a Cluster. */
  protected async writeIfFree(id: string, json: string, ttlSeconds: number): Promise<boolean> {
    return (await this.redis.eval(SET_IF_FREE_SCRIPT, 2, pendingRequestKey(id), keptResultKey(id), json, ttlSeconds)) === 1;
  }

  protected async removeIfHolds(id: string, json: string): Promise<void> {
    await this.redis.eval(DELETE_IF_HOLDS_SCRIPT, 1, pendingRequestKey(id), json);
  }

  protected read(id: string): Promise<string | null> {
    return this.redis.get(pendingRequestKey(id));
  }

  protected async remove(id: string): Promise<void> {
    await this.redis.del(pendingRequestKey(id));
  }

  /** Idempotent if sent twice after a broken connection ({@link claimWithToken}): a claim never finds itself taken. */
  protected claim(id: string, token: string, ttlSeconds: number): Promise<boolean> {
    return claimWithToken(this.redis, deliveryClaimKey(id), token, ttlSeconds);
  }

  protected extendClaim(id: string, token: string, ttlSeconds: number): Promise<boolean> {
    return extendWithToken(this.redis, deliveryClaimKey(id), token, ttlSeconds);
  }

  protected async unclaim(id: string): Promise<void> {
    await this.redis.del(deliveryClaimKey(id));
  }

  protected unclaimWithToken(id: string, token: string): Promise<void> {
    return releaseWithToken(this.redis, deliveryClaimKey(id), token);
  }

  protected async claimed(id: string): Promise<boolean> {
    return (await this.redis.exists(deliveryClaimKey(id))) === 1;
  }

  /** Idempotent as {@link claim} is: the mark sent again after a broken connection finds its own token. */
  protected markRefusal(id: string, ttlSeconds: number): Promise<boolean> {
    return claimWithToken(this.redis, refusalNoticeKey(id), randomUUID(), ttlSeconds);
  }

  protected async removeWithClaim(id: string): Promise<void> {
    await this.redis.del(pendingRequestKey(id), deliveryClaimKey(id));
  }

  protected async writeResult(id: string, json: string, ttlSeconds: number): Promise<void> {
    await this.redis.set(keptResultKey(id), json, 'EX', ttlSeconds);
  }

  protected readResult(id: string): Promise<string | null> {
    return this.redis.get(keptResultKey(id));
  }
}
