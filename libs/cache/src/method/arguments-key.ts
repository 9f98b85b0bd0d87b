import { secretDigest } from '../key-builder';

/**
 * An argument a default key cannot write faithfully: a function, a symbol, a cycle, or an object of
 * a kind whose state JSON does not see (a class instance, an `Error`, a `WeakMap`, a `Promise`…).
 */
export class UnkeyableArgumentError extends Error {
  override readonly name = 'UnkeyableArgumentError';
}

/** Kinds of object whose whole state is written, each in a tagged form of its own. */
function taggedObject(original: object): unknown {
  if (Array.isArray(original)) {
    if (Object.getPrototypeOf(original) !== Array.prototype) throw new UnkeyableArgumentError(`a ${original.constructor.name}`);
    return original;
  }
  if (ArrayBuffer.isView(original)) {
    return { $bytes: original.constructor.name, hex: Buffer.from(original.buffer, original.byteOffset, original.byteLength).toString('hex') };
  }
  if (original instanceof ArrayBuffer) return { $bytes: 'ArrayBuffer', hex: Buffer.from(original).toString('hex') };
  const prototype = Object.getPrototypeOf(original) as object | null;
  switch (prototype) {
    case Object.prototype:
    case null:
      return plainObject(original as Record<string, unknown>);
    case Map.prototype:
      return { $map: [...(original as Map<unknown, unknown>)] };
    case Set.prototype:
      return { $set: [...(original as Set<unknown>)] };
    case Date.prototype:
      return { $date: Number.isNaN((original as Date).getTime()) ? 'invalid' : (original as Date).toISOString() };
    case URL.prototype:
      return { $url: (original as URL).href };
    case URLSearchParams.prototype:
      return { $query: (original as URLSearchParams).toString() };
    case RegExp.prototype:
      return { $regexp: String(original as RegExp) };
  }
  throw new UnkeyableArgumentError(`a ${prototype?.constructor?.name ?? 'class'} instance, whose state JSON does not see`);
}

/**
 * A plain object as it is, but with one more `$` on each own key that starts with `$`, so no
 * argument spells a tagged form (`{$map: [['a', 1]]}` is not `new Map([['a', 1]])`). Symbol keys
 * are not written by JSON: such an object cannot be keyed.
 */
function plainObject(value: Record<string, unknown>): Record<string, unknown> {
  if (Object.getOwnPropertySymbols(value).length > 0) throw new UnkeyableArgumentError('an object with symbol keys');
  const keys = Object.keys(value);
  if (!keys.some((key) => key.startsWith('$'))) return value;
  return Object.fromEntries(keys.map((key) => [key.startsWith('$') ? `$${key}` : key, value[key]]));
}

/**
 * `JSON.stringify`'s replacer for {@link argumentsKey}, reading each value as it was before any
 * `toJSON`: what JSON would write alike for arguments a method tells apart is written tagged —
 * `undefined` and `null`, a `BigInt` (JSON throws), `NaN` and `-0` (JSON writes `null` and `0`), and
 * every kind of object {@link taggedObject} knows; any other object cannot be keyed.
 */
function tagged(this: Record<string, unknown>, key: string): unknown {
  const original = this[key];
  switch (typeof original) {
    case 'undefined':
      return { $undefined: true };
    case 'bigint':
      return { $bigint: original.toString() };
    case 'number':
      return Number.isFinite(original) && !Object.is(original, -0) ? original : { $number: Object.is(original, -0) ? '-0' : String(original) };
    case 'function':
    case 'symbol':
      throw new UnkeyableArgumentError(`a ${typeof original}`);
    case 'object':
      return original === null ? null : taggedObject(original);
    default:
      return original;
  }
}

/**
 * The default key of a `@Cacheable` method's call: a digest of its arguments written so that calls
 * a method can tell apart get keys apart (see {@link tagged}) — `JSON.stringify(args)` gave
 * `byOwner(new Map([['owner', 'alice']]))` and the same call for bob one key, `[{}]`, and one
 * caller the other's result. A digest, so an argument holding a secret never shows in a key. Bytes
 * are written as hex, at the speed of a copy. Throws {@link UnkeyableArgumentError} for an argument
 * that cannot be written faithfully: the call then runs uncached.
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
