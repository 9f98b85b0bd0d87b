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
      ['https://example.com/a'],
      [new Point(1, 2)],
      [{ x: 1, y: 2 }],
      [{ $class: 'Point', value: { x: 1, y: 2 } }],
      [Buffer.from('ab')],
      [{ type: 'Buffer', data: [97, 98] }],
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

  it.each([
    ['a function', [() => 1]],
    ['a symbol', [Symbol('s')]],
    ['a function inside an object', [{ onDone: () => 1 }]],
    ['a cycle', [(() => {
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      return cyclic;
    })()]],
  ])('cannot key %s', (_case, args) => {
    expect(() => argumentsKey(args)).toThrow(UnkeyableArgumentError);
  });
});
