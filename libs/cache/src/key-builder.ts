import { createHash } from 'node:crypto';
import { LONE_SURROGATE } from '@app/common';
import { replaceCredentialValues } from '@app/http/credentials';

/** Characters allowed in a key part as is; anything else is percent-encoded. */
const SAFE_PART = /^[A-Za-z0-9._~\-/=&?@,+]*$/;

/**
 * The one place cache keys are spelled: `<prefix>:<schemaVersion>:{<namespace>}:<parts…>`. Readers,
 * writers and invalidators all go through it, so a key is never written inline. Parts are encoded
 * so that a `:` inside a part can never forge another namespace's key. The braces are a Redis
 * Cluster hash tag: a namespace's entries, tag indexes and generation share one slot, so the
 * scripts that touch them together run on a Cluster, and clearing a namespace scans one node.
 */
export class CacheKeyBuilder {
  private readonly root: string;

  constructor(
    readonly prefix: string,
    readonly schemaVersion: string,
  ) {
    this.root = `${prefix}:${schemaVersion}`;
  }

  /** Full key of an entry. */
  entry(namespace: string, ...parts: readonly (string | number)[]): string {
    return spellEntry(this.namespacePrefix(namespace), parts);
  }

  /**
   * Spells the full keys of one namespace's entries, as {@link entry} does, with the namespace's
   * prefix built once: a namespace cache spells a key on every read, a route's cache hit included.
   */
  entriesOf(namespace: string): (parts: readonly (string | number)[]) => string {
    const prefix = this.namespacePrefix(namespace);
    return (parts) => spellEntry(prefix, parts);
  }

  /** Full key of an entry from its key within the namespace (as {@link localKey} returns it). */
  fromLocal(namespace: string, localKey: string): string {
    return `${this.namespacePrefix(namespace)}${localKey}`;
  }

  /**
   * The entry's key within its namespace: what the invalidation bus carries, so an instance on
   * another schema version (a rolling deploy) still drops the same logical entry.
   */
  localKey(namespace: string, fullKey: string): string {
    const prefix = this.namespacePrefix(namespace);
    if (!fullKey.startsWith(prefix)) throw new Error(`Key does not belong to namespace ${namespace}`);
    return fullKey.slice(prefix.length);
  }

  /** The namespace and local key of a full key of this app and schema version, else `undefined`. */
  parse(fullKey: string): { namespace: string; localKey: string } | undefined {
    const root = `${this.root}:`;
    if (!fullKey.startsWith(root)) return undefined;
    const rest = fullKey.slice(root.length);
    const separator = rest.indexOf('}:');
    if (!rest.startsWith('{') || separator <= 1 || separator + 2 === rest.length) return undefined;
    return { namespace: rest.slice(1, separator), localKey: rest.slice(separator + 2) };
  }

  /** Key of the Redis sorted set that lists the entries carrying `tag`, scored by expiry time. */
  tagIndex(namespace: string, tag: string): string {
    return `${this.slotted(namespace)}#tag:${encodePart(tag)}`;
  }

  /**
   * Key of the namespace's generation: a counter every invalidation of the namespace in Redis
   * increments, so a store can tell whether an invalidation came between its read and its write.
   * Outside the namespace's entry prefix and tag-index pattern, so clearing the namespace keeps it.
   */
  generation(namespace: string): string {
    return `${this.slotted(namespace)}#generation`;
  }

  /** Everything of `namespace` starts with this, so `SCAN MATCH <prefix>*` finds its entries. */
  namespacePrefix(namespace: string): string {
    return `${this.slotted(namespace)}:`;
  }

  /** Pattern of the namespace's tag-index sets. */
  tagIndexPattern(namespace: string): string {
    return `${this.slotted(namespace)}#tag:*`;
  }

  /** `<prefix>:<schemaVersion>:{<namespace>}`: what every key of the namespace starts with. */
  private slotted(namespace: string): string {
    return `${this.root}:{${namespace}}`;
  }
}

/** `prefix` followed by the encoded parts, separated by `:`. */
function spellEntry(prefix: string, parts: readonly (string | number)[]): string {
  let key = prefix;
  for (let index = 0; index < parts.length; index += 1) key += index === 0 ? encodePart(parts[index]) : `:${encodePart(parts[index])}`;
  return key;
}


function encodePart(part: string | number): string {
  const text = String(part);
  if (SAFE_PART.test(text)) return text;
  if (!LONE_SURROGATE.test(text)) return encodeURIComponent(text);
  // Split on the lone surrogates (captured, so at odd indexes); what is between them is well formed.
  return text
    .split(LONE_SURROGATE)
    .map((piece, index) => (index % 2 === 1 ? percentEncodedSurrogate(piece.charCodeAt(0)) : encodeURIComponent(piece)))
    .join('');
}

/**
 * A lone surrogate as the three bytes UTF-8's scheme would give its code point (WTF-8), which no
 * well-formed string encodes to: the part stays distinct from every other, U+FFFD included.
 */
function percentEncodedSurrogate(unit: number): string {
  const bytes = [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)];
  return bytes.map((byte) => `%${byte.toString(16).toUpperCase()}`).join('');
}

/**
 * A short, stable, one-way digest for values that must never appear in a key or a log (bot tokens,
 * secrets, credentials): the first 16 hex characters of SHA-256 over a domain label and the value.
 */
export function secretDigest(value: string, label = 'cache'): string {
  return createHash('sha256').update(label).update('\0').update(value).digest('hex').slice(0, 16);
}

/**
 * `key` with the value of every credential query parameter (`?token=…`, `&admin_secret=…`, matched
 * as the access log's redaction matches them) replaced by its digest, for keys built from raw URLs
 * (the stock `CacheInterceptor`'s): distinct credentials keep distinct keys, and no credential reaches
 * Redis or the inventory.
 */
export function digestCredentialParameters(key: string): string {
  return replaceCredentialValues(key, (value) => (value === '' ? '' : `~${secretDigest(value, 'key-parameter')}`));
}
