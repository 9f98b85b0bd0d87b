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
