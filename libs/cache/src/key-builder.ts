import { createHash } from 'node:crypto';

/** Characters allowed in a key part as is; anything else is percent-encoded. */
const SAFE_PART = /^[A-Za-z0-9._~\-/=&?@,+]*$/;

/**
 * The one place cache keys are spelled: `<prefix>:<schemaVersion>:<namespace>:<parts…>`. Readers,
 * writers and invalidators all go through it, so a key is never written inline. Parts are encoded
 * so that a `:` inside a part can never forge another namespace's key.
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
    return `${this.namespacePrefix(namespace)}${parts.map(encodePart).join(':')}`;
  }

  /** Key of the Redis set that lists the entries carrying `tag`. */
  tagIndex(namespace: string, tag: string): string {
    return `${this.root}:${namespace}#tag:${encodePart(tag)}`;
  }

  /** Everything of `namespace` starts with this, so `SCAN MATCH <prefix>*` finds its entries. */
  namespacePrefix(namespace: string): string {
    return `${this.root}:${namespace}:`;
  }

  /** Pattern of the namespace's tag-index sets. */
  tagIndexPattern(namespace: string): string {
    return `${this.root}:${namespace}#tag:*`;
  }
}

function encodePart(part: string | number): string {
  const text = String(part);
  return SAFE_PART.test(text) ? text : encodeURIComponent(text);
}

/**
 * A short, stable, one-way digest for values that must never appear in a key or a log (bot tokens,
 * secrets, credentials): the first 16 hex characters of SHA-256 over a domain label and the value.
 */
export function secretDigest(value: string, label = 'cache'): string {
  return createHash('sha256').update(label).update('\0').update(value).digest('hex').slice(0, 16);
}
