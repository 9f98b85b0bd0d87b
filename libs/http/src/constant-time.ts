import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Compares a presented secret with the expected one in time that does not depend on where they
 * differ or on the presented length (both sides are hashed to equal-length digests first).
 */
export function secretsMatch(presented: string | undefined | null, expected: string): boolean {
  if (typeof presented !== 'string' || presented.length === 0) return false;
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * The first candidate that is a non-empty string (the first element of a repeated header), for
 * routes that accept a secret from several places in order of preference; `undefined` when none.
 */
export function firstPresentSecret(...candidates: unknown[]): string | undefined {
  for (const candidate of candidates) {
    const value = Array.isArray(candidate) ? candidate[0] : candidate;
    if (typeof value === 'string' && value.length > 0) return value;
  }
  return undefined;
}
