import type { RedisConnection } from './redis-connection.factory';

/** 1 when `token` holds the key (set now, or by an earlier run of this same command), 0 when another value does. */
const CLAIM_SCRIPT = `
local held = redis.call('GET', KEYS[1])
if held == ARGV[1] then return 1 end
if held then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1`;

/** Sets the key's TTL only while it still holds `token`; 1 when set. */
const EXTEND_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 0`;

/** Deletes the key only while it still holds `token`. */
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * `SET key token EX ttlSeconds NX` that survives being sent twice. ioredis sends a command again
 * when its connection broke before the answer came; a plain `SET NX` that ran the first time then
 * finds its own key and answers "taken", and the caller drops as a repeat what it had just
 * claimed (an update never queued, a result never delivered). Here the second run finds its own
 * token: still claimed. Resolves whether `token` holds the key. `token` must be unique per claim.
 */
export async function claimWithToken(redis: RedisConnection, key: string, token: string, ttlSeconds: number): Promise<boolean> {
  return (await redis.eval(CLAIM_SCRIPT, 1, key, token, ttlSeconds)) === 1;
}

/** Releases a {@link claimWithToken} claim: deletes the key only while it holds `token`, never another claim. */
export async function releaseWithToken(redis: RedisConnection, key: string, token: string): Promise<void> {
  await redis.eval(RELEASE_SCRIPT, 1, key, token);
}

/** Makes a {@link claimWithToken} claim last `ttlSeconds` from now while `token` holds it; whether it does. */
export async function extendWithToken(redis: RedisConnection, key: string, token: string, ttlSeconds: number): Promise<boolean> {
  return (await redis.eval(EXTEND_SCRIPT, 1, key, token, ttlSeconds)) === 1;
}
