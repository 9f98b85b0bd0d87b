import Redis from 'ioredis';
import type { CacheEntry } from '@app/cache/cache-entry';
import { decodeStoredEntry } from '@app/cache/entry-codec';

/** Removes every key starting with `prefix` (SCAN + UNLINK): what a test's app left in the shared Redis. */
export async function removeRedisKeys(url: string, prefix: string): Promise<void> {
  const client = new Redis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length > 0) await client.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    await client.quit();
  }
}

/** The L2 entry behind the raw string Redis returns (the tier stores it encoded); `undefined` if not one. */
export function storedEntry(raw: string | null): CacheEntry | undefined {
  return decodeStoredEntry(raw);
}
