/** The value at `fraction` (0–1) of ascending `sorted` samples (nearest rank), rounded to the microsecond. */
export function percentile(sorted: readonly number[], fraction: number): number {
  const value = sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))];
  return Math.round(value * 1000) / 1000;
}

/** The middle of `values` (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** The median and range of `ratios`. */
export interface RatioSpread {
  median: number;
  min: number;
  max: number;
}

/**
 * The ratios `numerators[round] / denominators[round]` of two series measured in the same rounds,
 * as a median and a range: how the benches read a variant against its peer.
 */
export function pairedRatios(numerators: readonly number[], denominators: readonly number[]): RatioSpread {
  const ratios = numerators.map((value, round) => value / denominators[round]);
  return { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) };
}

/** A range as the bench tables print it: `min–max`, two decimals. */
export const rangeText = ({ min, max }: { min: number; max: number }): string => `${min.toFixed(2)}–${max.toFixed(2)}`;

/**
 * A round in which a variant's CPU time per request is more than this times its best round's is taken
 * as disturbed. On the 2-core virtual machines the benches run on, other work on the host raises a
 * process's CPU time per request by half or more for seconds at a time, while undisturbed rounds of a
 * variant stay within about 10 % of each other (docs/benchmarks.md, "How a target is read").
 */
export const DISTURBED_ROUND_FACTOR = 1.25;

/**
 * How many rounds are disturbed in any of `series`, each a variant's requests per CPU-second in every
 * round: a round counts once, however many of the variants it disturbed.
 */
export function disturbedRounds(...series: ReadonlyArray<readonly number[]>): number {
  const rounds = Math.max(0, ...series.map((rates) => rates.length));
  let disturbed = 0;
  for (let round = 0; round < rounds; round += 1) {
    if (series.some((rates) => rates[round] * DISTURBED_ROUND_FACTOR < Math.max(...rates))) disturbed += 1;
  }
  return disturbed;
}

/**
 * A paired target's verdict from the median of its rounds' ratios — unless most rounds were disturbed,
 * when the median is one of theirs and says as much about the machine as about the code.
 */
export function pairedVerdict(median: number, bound: number, disturbed: number, rounds: number): string {
  const verdict = median >= bound ? 'met' : 'NOT met';
  return disturbed * 2 > rounds ? `inconclusive: ${disturbed} of ${rounds} rounds disturbed (${verdict} by their median)` : verdict;
}
