import { roundOrder } from './round-order';

const count = (order: string[], name: string) => order.filter((measured) => measured === name).length;

describe('the order of a round', () => {
  const names = ['bare', 'stock', 'pino', 'ours', 'ours-logged', 'alone'];
  // 'ours-logged' is measured against 'stock' and against 'pino', which is itself measured against 'stock'.
  const pairs = [
    { variant: 'ours', peer: 'stock' },
    { variant: 'ours-logged', peer: 'stock' },
    { variant: 'pino', peer: 'stock' },
    { variant: 'ours-logged', peer: 'pino' },
  ];

  it('measures every variant exactly once a round, however many pairs name it', () => {
    for (let round = 0; round < 4; round += 1) {
      const order = roundOrder(names, pairs, round);
      expect(order).toHaveLength(names.length);
      for (const name of names) expect(count(order, name)).toBe(1);
    }
  });

  it('measures the variants of one peer back to back, the peer first in even rounds and last in odd ones', () => {
    const group = ['stock', 'ours', 'ours-logged', 'pino'];
    const even = roundOrder(names, pairs, 0);
    expect(even.slice(even.indexOf('stock'), even.indexOf('stock') + 4)).toEqual(group);
    const odd = roundOrder(names, pairs, 1);
    expect(odd.slice(odd.indexOf('stock') - 3, odd.indexOf('stock') + 1)).toEqual(['ours', 'ours-logged', 'pino', 'stock']);
  });

  it('rotates the groups so that none always runs first', () => {
    const firsts = new Set([0, 1, 2].map((round) => roundOrder(names, pairs, round)[0]));
    expect(firsts.size).toBe(3);
  });
});
