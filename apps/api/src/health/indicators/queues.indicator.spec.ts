import { HealthIndicatorService } from '@nestjs/terminus';
import type { AppConfig } from '@app/config';
import type { QueueRegistry } from '@app/queue';
import { QUEUES_UP_REUSE_MS, QueuesIndicator } from './queues.indicator';

const config = { health: { checkTimeoutMs: 1_000 } } as unknown as AppConfig;

/** Two queues whose counts answer with `answer()` each time, counting the calls. */
function queues(answer: () => Promise<unknown>) {
  const counted = { calls: 0 };
  const depth = () => {
    counted.calls += 1;
    return answer();
  };
  const registry = { all: () => [{ name: 'telegram-updates', depth }, { name: 'result-deliveries', depth }] } as unknown as QueueRegistry;
  return { indicator: new QueuesIndicator(new HealthIndicatorService(), config, registry), counted };
}

describe('QueuesIndicator', () => {
  afterEach(() => jest.useRealTimers());

  it('is up naming the queues in order, and reuses that answer for a second, not longer', async () => {
    jest.useFakeTimers({ now: 0 });
    const { indicator, counted } = queues(async () => ({ waiting: 0, active: 0, delayed: 0 }));

    expect((await indicator.check()).queues).toEqual({ status: 'up', durationMs: expect.any(Number), queues: ['result-deliveries', 'telegram-updates'] });
    jest.advanceTimersByTime(QUEUES_UP_REUSE_MS - 1);
    await indicator.check();
    expect(counted.calls).toBe(2);
    jest.advanceTimersByTime(1);
    await indicator.check();
    expect(counted.calls).toBe(4);
  });

  it('is down naming the first queue that failed, and never reuses a failure', async () => {
    let refuse = true;
    const { indicator, counted } = queues(async () => {
      if (refuse) throw new Error("NOPERM No permissions to access a key");
      return { waiting: 0, active: 0, delayed: 0 };
    });

    expect((await indicator.check()).queues).toEqual({ status: 'down', reason: 'result-deliveries: NOPERM No permissions to access a key' });
    refuse = false;
    expect((await indicator.check()).queues.status).toBe('up');
    expect(counted.calls).toBe(4);
  });
});
