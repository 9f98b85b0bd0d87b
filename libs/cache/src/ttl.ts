/**
 * A duration: a number of **milliseconds**, or a string with a unit — `'250ms'`, `'30s'`, `'5m'`,
 * `'1h'`, `'1d'`. Plain numbers are always milliseconds, as in `@nestjs/cache-manager`'s `@CacheTTL`.
 */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`;

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Converts a {@link Duration} to milliseconds; rejects negative, fractional-ms and unitless strings. */
export function toMilliseconds(duration: Duration): number {
  if (typeof duration === 'number') {
    if (!Number.isFinite(duration) || duration < 0) throw new RangeError(`Invalid duration ${duration}: must be >= 0 ms`);
    return Math.round(duration);
  }
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(duration);
  if (!match) throw new RangeError(`Invalid duration "${duration}": use a number of ms or e.g. "30s", "5m"`);
  return Math.round(Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]);
}
