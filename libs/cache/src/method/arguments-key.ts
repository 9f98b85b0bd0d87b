import { secretDigest } from '../key-builder';

/** An argument a default key cannot tell from every other: a function, a symbol, a cycle. */
export class UnkeyableArgumentError extends Error {
  override readonly name = 'UnkeyableArgumentError';
}

/**
 * `JSON.stringify`'s replacer for {@link argumentsKey}: what JSON would write alike for arguments a
 * method tells apart is written tagged — `undefined` and `null`, a `Map` or `Set` (JSON writes
 * `{}`), a `BigInt` (JSON throws), `NaN` and `-0` (JSON writes `null` and `0`), an object JSON
 * writes through its `toJSON` (a `Date`, a `URL`: else the same as that string), a class instance
 * (else the same as a plain object with its fields).
 */
function tagged(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const original = this[key];
  if (typeof original === 'object' && original !== null && original !== value) {
    return { $toJSON: (original as object).constructor?.name ?? 'Object', value };
  }
  switch (typeof value) {
    case 'undefined':
      return { $undefined: true };
    case 'bigint':
      return { $bigint: value.toString() };
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0) ? value : { $number: Object.is(value, -0) ? '-0' : String(value) };
    case 'function':
    case 'symbol':
      throw new UnkeyableArgumentError(`a ${typeof value}`);
  }
  if (value instanceof Map) return { $map: [...value] };
  if (value instanceof Set) return { $set: [...value] };
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const prototype = Object.getPrototypeOf(value) as object | null;
    if (prototype !== Object.prototype && prototype !== null) return { $class: prototype.constructor?.name ?? '', value: { ...value } };
    return escapedKeys(value as Record<string, unknown>);
  }
  return value;
}

/**
 * A plain object whose own keys start with `$` gets one more `$` on each, so no argument can spell a
 * tagged form above: `{$map: [['a', 1]]}` is not `new Map([['a', 1]])`.
 */
function escapedKeys(value: Record<string, unknown>): Record<string, unknown> {
  const keys = Object.keys(value);
  if (!keys.some((key) => key.startsWith('$'))) return value;
  return Object.fromEntries(keys.map((key) => [key.startsWith('$') ? `$${key}` : key, value[key]]));
}

/**
 * The default key of a `@Cacheable` method's call: a digest of its arguments written so that calls
 * a method can tell apart get keys apart (see {@link tagged}) — `JSON.stringify(args)` gave
 * `byOwner(new Map([['owner', 'alice']]))` and the same call for bob one key, `[{}]`, and one
 * caller the other's result. A digest, so an argument holding a secret never shows in a key.
 * Throws {@link UnkeyableArgumentError} for an argument that cannot be written (a function, a
 * symbol, a cyclic object): the call then runs uncached.
 */
export function argumentsKey(args: readonly unknown[]): string {
  let written: string;
  try {
    written = JSON.stringify(args, tagged);
  } catch (error) {
    if (error instanceof UnkeyableArgumentError) throw error;
    throw new UnkeyableArgumentError((error as Error).message);
  }
  return secretDigest(written, 'method-arguments');
}
