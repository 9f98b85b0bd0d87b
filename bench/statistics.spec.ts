import { disturbedRounds, pairedVerdict } from './statistics';

describe('disturbed rounds', () => {
  it("counts a round whose rate is under its best round's by more than the factor, in any of the series, once", () => {
    // Quiet rounds within 10 % of each other; round 2 at 0.7 of the best in both, round 4 in the peer only.
    const variant = [26_000, 25_000, 18_200, 24_500, 25_500];
    const peer = [28_000, 28_800, 19_000, 27_500, 20_000];
    expect(disturbedRounds(variant, peer)).toBe(2);
    expect(disturbedRounds(variant)).toBe(1);
  });

  it('counts none in rounds that all stay within the factor of the best', () => {
    expect(disturbedRounds([100, 81, 95], [50, 41, 49])).toBe(0);
  });

  it('counts a round exactly at the factor as undisturbed', () => {
    expect(disturbedRounds([125, 100])).toBe(0);
  });
});

describe('a paired target verdict', () => {
  it('reads the median against the bound while at most half the rounds are disturbed', () => {
    expect(pairedVerdict(0.91, 0.9, 2, 5)).toBe('met');
    expect(pairedVerdict(0.89, 0.9, 0, 5)).toBe('NOT met');
  });

  it('reads inconclusive, either way, when most rounds are disturbed', () => {
    expect(pairedVerdict(0.963, 0.9, 4, 5)).toBe('inconclusive: 4 of 5 rounds disturbed (met by their median)');
    expect(pairedVerdict(0.8, 0.9, 3, 5)).toBe('inconclusive: 3 of 5 rounds disturbed (NOT met by their median)');
  });
});
