/**
 * Delay before the next attempt after `attemptsMade` failed ones, in milliseconds: `baseDelayMs`,
 * then twice that, four times, … (BullMQ's `exponential` backoff, which the durable queue uses).
 */
export function retryDelayMs(attemptsMade: number, baseDelayMs: number): number {
  return baseDelayMs * 2 ** Math.max(0, attemptsMade - 1);
}

/** The log line of a failed attempt: whether and when it is tried again, or that it failed for good. */
export function describeFailure(
  queue: string,
  jobId: string,
  attemptsMade: number,
  maxAttempts: number,
  error: Error,
  nextDelayMs: number | null,
): string {
  const reason = `${error.name}: ${error.message}`;
  return nextDelayMs === null
    ? `Job ${jobId} of queue ${queue} failed for good after ${attemptsMade} of ${maxAttempts} attempt(s): ${reason}`
    : `Job ${jobId} of queue ${queue} failed attempt ${attemptsMade} of ${maxAttempts}, retrying in ${nextDelayMs} ms: ${reason}`;
}
