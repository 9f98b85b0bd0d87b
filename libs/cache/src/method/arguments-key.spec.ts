import { argumentsKey, UnkeyableArgumentError } from './arguments-key';

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

describe('argumentsKey', () => {
  it('gives arguments a method tells apart different keys', () => {
    const distinct: unknown[][] = [
      [],
      [undefined],
      [null],
      [undefined, undefined],
      [{}],
      [{ a: undefined }],
      [new Map([['a', 1]])],
      [{ $map: [['a', 1]] }],
      [{ $$map: [['a', 1]] }],
      [new Set([1])],
      [{ $set: [1] }],
      [1n],
      [{ $bigint: '1' }],
      ['1'],
      [1],
      [-0],
      [0],
      [Number.NaN],
      [Number.POSITIVE_INFINITY],
      [null, 'NaN'],
      [new Date('2025-01-31T12:00:00.000Z')],
      ['2025-01-31T12:00:00.000Z'],
      [new URL('https://example.com/a')],
      [new URL('https://example.com/b')],
      ['https://example.com/a'],
      [new URLSearchParams('a=1')],
      [new URLSearchParams('a=2')],
      [/a/],
      [/b/],
      [/a/g],
      [{ x: 1, y: 2 }],
      [Buffer.from('ab')],
      [Buffer.from('ac')],
      [new Uint8Array([97, 98])],
      [new Uint8Array([97, 98]).buffer],
      [new DataView(new Uint8Array([1, 2]).buffer)],
      [new DataView(new Uint8Array([1, 3]).buffer)],
      [{ type: 'Buffer', data: [97, 98] }],
      [{ $bytes: 'Buffer', hex: '6162' }],
      [new Date(Number.NaN)],
      [[1, 2]],
      [[2, 1]],
      ['a', 'b'],
      [['a', 'b']],
    ];
    const keys = distinct.map((args) => argumentsKey(args));
    expect(new Set(keys).size).toBe(distinct.length);
  });

  it('gives the same arguments the same key, and never shows them', () => {
    expect(argumentsKey([{ id: 7, token: 'SECRET-TOKEN' }])).toBe(argumentsKey([{ id: 7, token: 'SECRET-TOKEN' }]));
    expect(argumentsKey([new Map([['a', new Set([1])]])])).toBe(argumentsKey([new Map([['a', new Set([1])]])]));
    expect(argumentsKey([{ token: 'SECRET-TOKEN' }])).toMatch(/^[0-9a-f]{16}$/);
  });

  it('writes bytes at the speed of a copy, not an object of a key a byte (8 MB took 8 s, the process stalled)', () => {
    const started = performance.now();
    argumentsKey([new Uint8Array(8 * 1024 * 1024)]);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it.each([
    ['a function', [() => 1]],
    ['a symbol', [Symbol('s')]],
    ['a function inside an object', [{ onDone: () => 1 }]],
    ['a class instance (its #private or getter state is not seen)', [new Point(1, 2)]],
    ['an Error', [new Error('a')]],
    ['a boxed number', [new Number(1)]],
    ['a WeakMap', [new WeakMap()]],
    ['a Promise', [Promise.resolve(1)]],
    ['an object with a symbol key', [{ [Symbol('k')]: 1 }]],
    ['a Map subclass', [new (class Registry extends Map {})()]],
    ['a cycle', [(() => {
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      return cyclic;
    })()]],
  ])('cannot key %s', (_case, args) => {
    expect(() => argumentsKey(args)).toThrow(UnkeyableArgumentError);
  });
});
