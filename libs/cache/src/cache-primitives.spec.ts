import { CircuitBreaker } from './circuit-breaker';
import { decodeStoredEntry, encodeEntry, storedForm } from './entry-codec';
import { CacheKeyBuilder, digestCredentialParameters, secretDigest } from './key-builder';
import { MemoryTier } from './memory-tier';
import { normalizedQuery, principalOf, queryPairsOf } from './http/principal';
import { toMilliseconds } from './ttl';

describe('toMilliseconds', () => {
  it.each([
    [1500, 1500],
    ['250ms', 250],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1.5s', 1500],
  ] as const)('%p → %p ms', (input, expected) => {
    expect(toMilliseconds(input)).toBe(expected);
  });

  it.each([-1, Number.NaN, '30', '5 minutes', 'm'])('rejects %p', (input) => {
    expect(() => toMilliseconds(input as never)).toThrow(RangeError);
  });
});

describe('CacheKeyBuilder', () => {
  const keys = new CacheKeyBuilder('jarek-va', '3');

  it('spells <prefix>:<version>:{<namespace>}:<parts>', () => {
    expect(keys.entry('settings', 'setting', 'theme')).toBe('jarek-va:3:{settings}:setting:theme');
  });

  it('puts an entry, its tag indexes and its namespace generation in one Cluster slot (the namespace hash tag)', () => {
    const tag = (key: string) => /\{([^}]+)\}/.exec(key)?.[1];
    expect(tag(keys.entry('settings', 'a', 'b'))).toBe('settings');
    expect(tag(keys.tagIndex('settings', 'x{y}'))).toBe('settings');
    expect(tag(keys.generation('settings'))).toBe('settings');
  });

  it('encodes a colon inside a part so it cannot forge another key', () => {
    const forged = keys.entry('http', 'a:b');
    expect(forged).toBe('jarek-va:3:{http}:a%3Ab');
    expect(forged).not.toBe(keys.entry('http', 'a', 'b'));
  });

  it('spells parts and tags holding a lone surrogate, each apart from every other string', () => {
    const parts = ['\ud800', '\udc00', 'a\ud800b', '\ud83d\ude00', '\ud83d', '\ufffd', '%ED%A0%80'];
    const spelled = parts.map((part) => keys.entry('tasks', part));
    expect(spelled[0]).toBe('jarek-va:3:{tasks}:%ED%A0%80');
    expect(spelled[2]).toBe('jarek-va:3:{tasks}:a%ED%A0%80b');
    expect(new Set(spelled).size).toBe(parts.length);
    expect(keys.tagIndex('tasks', '\udfff')).toBe('jarek-va:3:{tasks}#tag:%ED%BF%BF');
  });

  it('keeps tag indexes outside the namespace entry prefix', () => {
    expect(keys.tagIndex('settings', 'all').startsWith(keys.namespacePrefix('settings'))).toBe(false);
  });

  it('splits a full key into namespace and local key, and builds it back on any schema version', () => {
    const full = keys.entry('settings', 'setting', 'a:b');
    const parsed = keys.parse(full);
    expect(parsed).toEqual({ namespace: 'settings', localKey: 'setting:a%3Ab' });
    expect(keys.localKey('settings', full)).toBe('setting:a%3Ab');
    expect(keys.fromLocal('settings', parsed!.localKey)).toBe(full);
    expect(new CacheKeyBuilder('jarek-va', '4').fromLocal('settings', parsed!.localKey)).toBe('jarek-va:4:{settings}:setting:a%3Ab');
  });

  it('does not parse keys of another app, version or shape', () => {
    expect(keys.parse('other:3:{settings}:x')).toBeUndefined();
    expect(keys.parse('jarek-va:3:settings:x')).toBeUndefined();
    expect(keys.parse('jarek-va:2:{settings}:x')).toBeUndefined();
    expect(keys.parse('jarek-va:3:{settings}')).toBeUndefined();
    expect(keys.parse('jarek-va:3:{settings}:')).toBeUndefined();
    expect(() => keys.localKey('tasks', keys.entry('settings', 'x'))).toThrow('namespace tasks');
  });

  it('digests secrets to 16 hex characters, stable and label-separated', () => {
    const digest = secretDigest('123456:bot-token');
    expect(digest).toMatch(/^[0-9a-f]{16}$/);
    expect(secretDigest('123456:bot-token')).toBe(digest);
    expect(secretDigest('123456:bot-token', 'other')).not.toBe(digest);
    expect(digest).not.toContain('bot-token');
  });
});

describe('digestCredentialParameters', () => {
  it('replaces a credential value whole, a "#" in it included, as the query parser reads it', () => {
    const key = digestCredentialParameters('/a?x=1#&token=abc#def&y=2');
    expect(key).not.toMatch(/abc|def/);
    expect(key).toBe(`/a?x=1#&token=~${secretDigest('abc#def', 'key-parameter')}&y=2`);
  });

  it('digests credentials however their names are written, as the access log redacts them', () => {
    const key = digestCredentialParameters('/a?%73ecret=s1&secret[]=s2&a[admin_secret]=s3&adminSecret=s4&token_count=3&api_key=');
    expect(key).not.toMatch(/s[1-4]/);
    expect(key).toBe(
      `/a?%73ecret=~${secretDigest('s1', 'key-parameter')}&secret[]=~${secretDigest('s2', 'key-parameter')}` +
        `&a[admin_secret]=~${secretDigest('s3', 'key-parameter')}&adminSecret=~${secretDigest('s4', 'key-parameter')}&token_count=3&api_key=`,
    );
  });
});

describe('CircuitBreaker', () => {
  let now = 0;
  const breaker = () => new CircuitBreaker({ failureThreshold: 3, cooldownMs: 1000, now: () => now });

  beforeEach(() => {
    now = 0;
  });

  it('opens after the threshold of consecutive failures and refuses calls while open', () => {
    const circuit = breaker();
    expect(circuit.recordFailure()).toBe(false);
    expect(circuit.recordFailure()).toBe(false);
    expect(circuit.recordFailure()).toBe(true);
    expect(circuit.state).toBe('open');
    expect(circuit.allows()).toBe(false);
  });

  it('a success resets the count of consecutive failures', () => {
    const circuit = breaker();
    circuit.recordFailure();
    circuit.recordFailure();
    circuit.recordSuccess();
    circuit.recordFailure();
    expect(circuit.state).toBe('closed');
  });

  it('lets one trial through after the cooldown and closes on its success', () => {
    const circuit = breaker();
    for (let i = 0; i < 3; i += 1) circuit.recordFailure();
    now = 1000;
    expect(circuit.allows()).toBe(true);
    expect(circuit.state).toBe('half-open');
    expect(circuit.allows()).toBe(false);
    expect(circuit.recordSuccess()).toBe(true);
    expect(circuit.state).toBe('closed');
    expect(circuit.opened).toBe(1);
  });

  it('re-opens for another cooldown when the trial fails', () => {
    const circuit = breaker();
    for (let i = 0; i < 3; i += 1) circuit.recordFailure();
    now = 1000;
    circuit.allows();
    circuit.recordFailure();
    expect(circuit.state).toBe('open');
    now = 1500;
    expect(circuit.allows()).toBe(false);
  });
});

describe('MemoryTier', () => {
  it('evicts the least recently used entry past the bound and counts it', () => {
    let evictions = 0;
    const tier = new MemoryTier({ maxEntries: 2, onEvict: () => (evictions += 1) });
    const entry = (value: string) => ({ value, freshUntil: Date.now() + 60_000 });
    tier.set('a', entry('a'), 60_000);
    tier.set('b', entry('b'), 60_000);
    tier.get('a');
    tier.set('c', entry('c'), 60_000);
    expect(tier.get('b')).toBeUndefined();
    expect(tier.get('a')?.value).toBe('a');
    expect(tier.size).toBe(2);
    expect(evictions).toBe(1);
  });

  it('drops tagged entries and forgets tags of entries that left', () => {
    const tier = new MemoryTier({ maxEntries: 10 });
    const freshUntil = Date.now() + 60_000;
    tier.set('a', { value: 1, freshUntil, tags: ['x'] }, 60_000);
    tier.set('b', { value: 2, freshUntil, tags: ['x', 'y'] }, 60_000);
    tier.set('c', { value: 3, freshUntil, tags: ['y'] }, 60_000);
    expect(tier.deleteTagged(['x'])).toBe(2);
    expect(tier.get('c')?.value).toBe(3);
    expect(tier.deleteTagged(['x'])).toBe(0);
  });

  it('prunes entries whose lifetime is over', async () => {
    const tier = new MemoryTier({ maxEntries: 10 });
    tier.set('short', { value: 1, freshUntil: Date.now() + 5 }, 5);
    tier.set('long', { value: 2, freshUntil: Date.now() + 60_000 }, 60_000);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(tier.prune()).toBe(1);
    expect(tier.size).toBe(1);
  });
});

describe('HTTP key parts', () => {
  const pairs = (query: string) => queryPairsOf({ url: `/p?${query}` }, 2);

  it('sorts the query by name, keeps the order of a name\'s values, and digests credential parameters', () => {
    const digest = (value: string) => `%7E${secretDigest(value, 'key-parameter')}`;
    expect(normalizedQuery(pairs('b=2&secret=s3&a=9&a=1&token=t&api_key='))).toBe(`a=9&a=1&api_key=&b=2&secret=${digest('s3')}&token=${digest('t')}`);
    expect(normalizedQuery(pairs('a=1&a=9'))).not.toBe(normalizedQuery(pairs('a=9&a=1')));
    // A public route's key has no principal: two values of a credential parameter must not share its entry.
    expect(normalizedQuery(pairs('token=alice'))).not.toBe(normalizedQuery(pairs('token=bob')));
  });

  it('reads the query as Fastify does: a malformed escape stays apart from the character it is not', () => {
    expect(normalizedQuery(pairs('q=%FF'))).not.toBe(normalizedQuery(pairs('q=%EF%BF%BD')));
    // What the route reads is the same, so the entry is too.
    expect(normalizedQuery(pairs('q=%FF'))).toBe(normalizedQuery(pairs('q=%25FF')));
    expect(normalizedQuery(pairs('a+b=c%20d'))).toBe(normalizedQuery(pairs('a%20b=c+d')));
  });

  it('names anonymous callers alike and credentialed callers apart, without the credential', () => {
    const none = pairs('');
    expect(principalOf({ headers: {} }, none)).toBe('anonymous');
    const alice = principalOf({ headers: { authorization: 'Bearer alice-token' } }, none);
    const bob = principalOf({ headers: { authorization: 'Bearer bob-token' } }, none);
    expect(alice).not.toBe(bob);
    expect(alice).not.toContain('alice');
    expect(principalOf({ headers: {} }, pairs('admin_secret=x'))).not.toBe('anonymous');
  });
});

describe('stored entries', () => {
  it('decode from what a plain GET returns, types kept, and refuse anything else', () => {
    const entry = { value: { at: new Date(5), ids: new Set([1, 2]) }, freshUntil: 10, tags: ['t'] };
    const stored = storedForm(encodeEntry(entry));
    expect(JSON.parse(stored)).toBe(encodeEntry(entry));
    expect(decodeStoredEntry(stored)).toEqual(entry);
    expect(decodeStoredEntry(null)).toBeUndefined();
    expect(decodeStoredEntry(encodeEntry(entry))).toBeUndefined();
    expect(decodeStoredEntry('"bm90IG1zZ3BhY2s="')).toBeUndefined();
    expect(decodeStoredEntry('{"value":1,"freshUntil":2}')).toBeUndefined();
  });
});
