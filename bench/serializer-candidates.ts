import * as v8 from 'node:v8';
import { Packr } from 'msgpackr';
import * as telejson from 'telejson';
import { decodeStoredEntry, encodeEntry, storedForm } from '@app/cache/entry-codec';
import { serialize } from '@app/cache/http/cached-response';
import { BENCH_PAYLOAD } from './bench-payload';

/** A value's trip to Redis and back: bytes or a string, as the candidate produces them. */
export interface SerializerCandidate {
  name: string;
  /** Whether Date, Map, Set, BigInt and Buffer come back as themselves. */
  keepsTypes: boolean;
  encode(value: unknown): Buffer | string;
  decode(encoded: Buffer | string): unknown;
}

const packr = new Packr({ structuredClone: true, mapsAsObjects: false });

export const SERIALIZER_CANDIDATES: readonly SerializerCandidate[] = [
  { name: 'v8.serialize', keepsTypes: true, encode: (value) => v8.serialize(value), decode: (bytes) => v8.deserialize(bytes as Buffer) },
  { name: 'msgpackr (structuredClone)', keepsTypes: true, encode: (value) => packr.pack(value), decode: (bytes) => packr.unpack(bytes as Buffer) },
  { name: 'telejson', keepsTypes: false, encode: (value) => telejson.stringify(value, { maxDepth: Infinity }), decode: (text) => telejson.parse(text as string) },
  { name: 'JSON', keepsTypes: false, encode: (value) => JSON.stringify(value), decode: (text) => JSON.parse(text as string) as unknown },
];

/** About 1.1 KB as JSON: the shape of a cached record list, with a date per row. */
export function sampleValue(): unknown {
  return {
    page: 1,
    generatedAt: new Date(1_700_000_000_000),
    items: Array.from({ length: 8 }, (_, index) => ({
      id: index + 1,
      name: `setting-${index}`,
      enabled: index % 2 === 0,
      updatedAt: new Date(1_700_000_000_000 + index * 1_000),
      notes: 'a short free-text description of this row',
    })),
  };
}

/** A way to store a whole L2 entry (`{ value, freshUntil }`) as the Redis string and read it back. */
export interface EntryFormat {
  name: string;
  encode(entry: { value: unknown; freshUntil: number }): string;
  decode(stored: string): unknown;
}

/**
 * msgpackr without records is no candidate: with `mapsAsObjects: false` (which keeps a `Map` a `Map`) it
 * decodes every plain object as a `Map`.
 */
export const ENTRY_FORMATS: readonly EntryFormat[] = [
  { name: "the tier's codec (msgpackr, base64 in a JSON string)", encode: (entry) => storedForm(encodeEntry(entry)), decode: (stored) => decodeStoredEntry(stored) },
  { name: 'JSON (loses Date, Map, Set, BigInt, Buffer)', encode: (entry) => JSON.stringify(entry), decode: (stored) => JSON.parse(stored) as unknown },
];

/** Values of the shapes this app stores in L2, each about 1.1 KB as JSON. */
export function entryValueShapes(): Record<string, unknown> {
  const records = sampleValue() as { generatedAt: Date; items: { updatedAt: Date }[] };
  return {
    'a cached route (body as a JSON string, ETag)': serialize(BENCH_PAYLOAD),
    'settings list (20 small records)': BENCH_PAYLOAD,
    'record list, dates as ISO strings': JSON.parse(JSON.stringify(records)) as unknown,
    'record list with Date values': records,
  };
}
