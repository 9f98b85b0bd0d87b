/**
 * `work`, or a rejection with `onTimeout()` once `timeoutMs` have passed. The abandoned work may
 * still settle later; its late rejection is swallowed so it never surfaces as unhandled. For Redis
 * calls that must fail fast (L2 operations, invalidation publishes, health probes) rather than
 * wait for a reply. One timer and one promise per call: it sits on the L2 hot path.
 */
export function withTimeout<T>(work: Promise<T>, timeoutMs: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), timeoutMs);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passes on the work's own rejection unchanged
        reject(error);
      },
    );
  });
}
