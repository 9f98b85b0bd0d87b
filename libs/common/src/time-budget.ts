function judgeInCheckPhase<A>(judge: (argument: A) => void, argument: A): void {
  setImmediate(judge, argument);
}

/**
 * A timer for a budget on a reply from a socket: `judge(argument)` runs once `timeoutMs` have
 * passed, in the check phase (`setImmediate`) of the turn the timer fires in. The event loop runs
 * expired timers before it reads sockets, so after the process stalls (a long collection, a busy or
 * paused CPU) a timer judged at once would fire ahead of a reply that arrived during the stall, and a
 * fast Redis would count as a slow one. In the check phase the sockets that were ready have been
 * read, so `judge` sees that reply. No closure per call: it sits on every Redis command's path.
 */
export function budgetTimer<A>(timeoutMs: number, judge: (argument: A) => void, argument: A): NodeJS.Timeout {
  return setTimeout(judgeInCheckPhase<A>, timeoutMs, judge, argument);
}

/**
 * `work`, or a rejection with `onTimeout()` once `timeoutMs` have passed. The abandoned work may
 * still settle later; its late rejection is swallowed so it never surfaces as unhandled. For Redis
 * calls that must fail fast (L2 operations, invalidation publishes, health probes) rather than
 * wait for a reply. One timer and one promise per call: it sits on the L2 hot path. The budget is
 * judged after the sockets are read ({@link budgetTimer}): a reply that came during a stall of the
 * process is taken, not counted as a slow Redis (a failed L2 read, a breaker nearer to opening, an
 * invalidation announced as unpublished).
 */
export function withTimeout<T>(work: Promise<T>, timeoutMs: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const judge = (): void => {
      if (!settled) reject(onTimeout());
    };
    const timer = budgetTimer(timeoutMs, judge, undefined);
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
