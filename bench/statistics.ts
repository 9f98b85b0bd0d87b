/** The value at `fraction` (0–1) of ascending `sorted` samples (nearest rank), rounded to the microsecond. */
export function percentile(sorted: readonly number[], fraction: number): number {
  const value = sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))];
  return Math.round(value * 1000) / 1000;
}
