import { describeFailure, retryDelayMs } from './retry-policy';

describe('retryDelayMs', () => {
  it('doubles from the base delay, as BullMQ exponential backoff does', () => {
    expect([1, 2, 3, 4].map((attemptsMade) => retryDelayMs(attemptsMade, 1_000))).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect(retryDelayMs(0, 50)).toBe(50);
  });
});

describe('describeFailure', () => {
  it('says whether the job is tried again', () => {
    const error = new TypeError('bad');
    expect(describeFailure('q', '7', 1, 3, error, 1_000)).toBe('Job 7 of queue q failed attempt 1 of 3, retrying in 1000 ms: TypeError: bad');
    expect(describeFailure('q', '7', 3, 3, error, null)).toBe('Job 7 of queue q failed for good after 3 of 3 attempt(s): TypeError: bad');
  });
});
