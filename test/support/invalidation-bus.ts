import { CacheInvalidationService } from '@app/cache-invalidation';
import type { TestApp } from './test-app';

/**
 * How long another instance may take to apply an invalidation event. Redis answers the publisher
 * before it writes the event to the subscribers' sockets (docs/caching.md, "Cross-instance
 * invalidation"): on loopback well under a millisecond, but 19 ms was seen with a busy core, so a
 * read on the other instance right after the write has answered may still get the old value.
 */
export const PROPAGATION_BOUND_MS = 250;

/** Polls `condition` every millisecond; returns how long it took, or fails after `boundMs`. */
export async function within(boundMs: number, condition: () => boolean, what: string): Promise<number> {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > boundMs) throw new Error(`${what} did not happen within ${boundMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return performance.now() - started;
}

/** The cross-instance bus's counters on `app`. */
export const busOf = (app: TestApp) => app.app.get(CacheInvalidationService).status();

/**
 * Runs `write`, which invalidates on `writer`, and resolves once `listener` has applied as many events
 * as `writer` published meanwhile, within {@link PROPAGATION_BOUND_MS}: what a read on `listener`
 * right after a write may rely on.
 */
export async function heardBy<T>(writer: TestApp, listener: TestApp, write: () => PromiseLike<T>): Promise<T> {
  const publishedBefore = busOf(writer).published;
  const appliedBefore = busOf(listener).applied;
  const written = await write();
  const published = busOf(writer).published - publishedBefore;
  expect(published).toBeGreaterThan(0);
  await within(PROPAGATION_BOUND_MS, () => busOf(listener).applied - appliedBefore >= published, 'The other instance applying the write');
  return written;
}
