/**
 * `work`, or a rejection with `onTimeout()` once `timeoutMs` have passed. The abandoned work may
 * still settle later; its late rejection is swallowed so it never surfaces as unhandled. For Redis
 * calls that must fail fast (L2 operations, invalidation publishes, health probes) rather than
 * wait for a reply. One timer and one promise per call: it sits on the L2 hot path.
 *
 * The event loop runs expired timers before it reads sockets, so after the process stalls (a long
 * collection, a busy CPU) the timer would fire ahead of a reply that arrived during the stall, and
 * a fast Redis would count as a slow one: a failed L2 read, a breaker nearer to opening, an
 * invalidation announced as unpublished. So an expired budget is judged in the same turn's check
 * phase (`setImmediate`), after the sockets that were ready have been read.
 */
export function withTimeout<T>(work: Promise<T>, timeoutMs: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const judge = (): void => {
      if (!settled) reject(onTimeout());
    };
    const timer = setTimeout(() => setImmediate(judge), timeoutMs);
    work.then(
      (value) => {
        settled = true;
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        settled = true;
        clearTimeout(timer);
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passes on the work's own rejection unchanged
        reject(error);
      },
    );
  });
}
