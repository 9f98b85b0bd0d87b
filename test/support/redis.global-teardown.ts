import Redis from 'ioredis';
import { keysLeftUnderRecordedPrefixes } from './redis-key-ledger';
import type { RedisServerProcess } from './redis-server';

/**
 * Fails the run when a test left keys in the developer's Redis under a prefix it used (each test
 * removes what it created), after removing them so the next run starts clean either way.
 */
async function refuseLeftoverKeys(): Promise<void> {
  const left = await keysLeftUnderRecordedPrefixes();
  if (left.size === 0) return;
  const lines: string[] = [];
  for (const [url, keys] of left) {
    const client = new Redis(url);
    try {
      for (let start = 0; start < keys.length; start += 500) await client.unlink(...keys.slice(start, start + 500));
    } finally {
      await client.quit();
    }
    lines.push(`${url}: ${keys.length} keys, e.g. ${keys.slice(0, 10).join(', ')}`);
  }
  throw new Error(`The tests left keys in Redis under their prefixes (removed now):\n${lines.join('\n')}`);
}

export default async function globalTeardown(): Promise<void> {
  try {
    await refuseLeftoverKeys();
  } finally {
    const server = (globalThis as { __testRedisServer?: RedisServerProcess }).__testRedisServer;
    await server?.stop();
  }
}
