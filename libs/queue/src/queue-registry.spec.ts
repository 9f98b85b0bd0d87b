import { QueueRegistry } from './queue-registry';

describe(QueueRegistry.name, () => {
  afterEach(() => jest.useRealTimers());

  it('gives the running jobs of all queues one share of the shutdown, counted from the first queue to stop', () => {
    jest.useFakeTimers({ now: 1_000_000 });
    const registry = new QueueRegistry();
    expect(registry.jobsMayRunFor(5_000)).toBe(5_000);
    jest.advanceTimersByTime(3_000);
    expect(registry.jobsMayRunFor(5_000)).toBe(2_000);
    jest.advanceTimersByTime(4_000);
    expect(registry.jobsMayRunFor(5_000)).toBe(0);
  });
});
