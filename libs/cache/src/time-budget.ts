/**
 * `work`, or a rejection with `onTimeout()` once `timeoutMs` have passed. The abandoned work may
 * still settle later; its late rejection is swallowed so it never surfaces as unhandled. For Redis
 * calls that must fail fast (L2 operations, invalidation publishes) rather than wait for a reply.
 */
export function withTimeout<T>(work: Promise<T>, timeoutMs: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), timeoutMs);
  });
  work.catch(() => undefined);
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
