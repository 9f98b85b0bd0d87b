import { Packr } from 'msgpackr';
import { isCacheEntry, type CacheEntry } from './cache-entry';

/**
 * MessagePack with msgpackr's structured-clone extension: `Date`, `Map`, `Set`, `BigInt`,
 * `Buffer`, typed arrays, `undefined` inside objects and shared or cyclic references come back as
 * themselves. Chosen over v8.serialize, telejson and JSON by `bench/cache-tier.bench.ts` (fastest
 * encode, decode within reach of `JSON.parse`, smallest payload). `mapsAsObjects: false` keeps a
 * `Map` a `Map`; plain objects travel as records and come back as plain objects.
 */
const packr = new Packr({ structuredClone: true, mapsAsObjects: false });

const QUOTE = 0x22;

/**
 * An L2 entry as `cache-manager-ioredis-yet` carries it: the MessagePack bytes in base64. The store
 * runs `telejson` over what it is given; a base64 string is one JSON string with nothing to walk or
 * escape, and it can never start with one of telejson's `_function_`/`_date_` markers, so a cached
 * string is never revived into code or another type.
 */
export function encodeEntry(entry: CacheEntry): string {
  return packr.pack(entry).toString('base64');
}

/** The entry, or `undefined` for anything this version did not write (another format, corrupt bytes). */
export function decodeEntry(stored: unknown): CacheEntry | undefined {
  if (typeof stored !== 'string') return undefined;
  try {
    const entry: unknown = packr.unpack(Buffer.from(stored, 'base64'));
    return isCacheEntry(entry) ? entry : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What the tier writes to Redis for an encoded entry: the string as `cache-manager-ioredis-yet`
 * itself would store it (JSON), so the stock store reads every entry back.
 */
export function storedForm(encoded: string): string {
  return JSON.stringify(encoded);
}

/**
 * The entry from the stored form (see {@link storedForm}) as a plain `GET` returns it, without the
 * store's telejson pass: a JSON string of base64 needs no parsing beyond its quotes, as base64
 * never contains a character JSON escapes. `undefined` for anything else.
 */
export function decodeStoredEntry(stored: string | null): CacheEntry | undefined {
  if (stored === null || stored.length < 2 || stored.charCodeAt(0) !== QUOTE || stored.charCodeAt(stored.length - 1) !== QUOTE) {
    return undefined;
  }
  return decodeEntry(stored.slice(1, -1));
}
