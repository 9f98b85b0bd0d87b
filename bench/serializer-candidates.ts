import * as v8 from 'node:v8';
import { Packr } from 'msgpackr';
import * as telejson from 'telejson';

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
