import { Logger } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { DependencyIndicator, describeError, type ProbeOutcome } from './dependency-indicator';

/** An indicator whose probes the test settles by hand. */
class ControlledIndicator extends DependencyIndicator<'thing'> {
  probes = 0;
  private pending: ((outcome: ProbeOutcome) => void)[] = [];
  private failures: ((error: Error) => void)[] = [];

  constructor(timeoutMs: number) {
    super('thing', new HealthIndicatorService(), timeoutMs);
  }

  protected probe(): Promise<ProbeOutcome> {
    this.probes += 1;
    return new Promise((resolve, reject) => {
      this.pending.push(resolve);
      this.failures.push(reject);
    });
  }

  settle(outcome: ProbeOutcome): void {
    this.failures.shift();
    this.pending.shift()?.(outcome);
  }

  fail(error: Error): void {
    this.pending.shift();
    this.failures.shift()?.(error);
  }
}

/** Lets the microtasks queued by settling a probe run. */
const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('DependencyIndicator', () => {
  let warnings: jest.SpyInstance;
  let notices: jest.SpyInstance;

  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    warnings = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    notices = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });
  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('shares one probe between concurrent callers', async () => {
    const indicator = new ControlledIndicator(500);
    const answers = Promise.all([indicator.check(), indicator.check(), indicator.check()]);
    await flush();
    indicator.settle({ up: true, details: { durationMs: 1 } });
    expect(await answers).toEqual(Array(3).fill({ thing: { status: 'up', durationMs: 1 } }));
    expect(indicator.probes).toBe(1);
  });

  it('answers down after the timeout, and starts no new probe while the slow one is still running', async () => {
    const indicator = new ControlledIndicator(500);
    const first = indicator.check();
    await flush();
    jest.advanceTimersByTime(500);
    expect(await first).toEqual({ thing: { status: 'down', reason: 'no answer within 500 ms' } });

    const second = indicator.check();
    await flush();
    jest.advanceTimersByTime(500);
    expect(await second).toEqual({ thing: { status: 'down', reason: 'no answer within 500 ms' } });
    expect(indicator.probes).toBe(1);

    indicator.settle({ up: true });
    await flush();
    const third = indicator.check();
    await flush();
    expect(indicator.probes).toBe(2);
    indicator.settle({ up: true });
    expect(await third).toEqual({ thing: { status: 'up' } });
  });

  it('gives a caller joining a probe already under way only what is left of the budget: a slow answer is down for all', async () => {
    const indicator = new ControlledIndicator(500);
    const first = indicator.check();
    await flush();
    jest.advanceTimersByTime(500);
    expect(await first).toEqual({ thing: { status: 'down', reason: 'no answer within 500 ms' } });

    // 750 ms into the probe a second caller arrives; the probe answers "up" at 900 ms.
    jest.advanceTimersByTime(250);
    const late = indicator.check();
    await flush();
    jest.advanceTimersByTime(150);
    indicator.settle({ up: true });
    expect(await late).toEqual({ thing: { status: 'down', reason: 'no answer within 500 ms' } });
    await flush();

    const midway = indicator.check();
    await flush();
    jest.advanceTimersByTime(300);
    const joining = indicator.check();
    await flush();
    jest.advanceTimersByTime(200);
    expect(await joining).toEqual({ thing: { status: 'down', reason: 'no answer within 500 ms' } });
    expect(await midway).toEqual({ thing: { status: 'down', reason: 'no answer within 500 ms' } });
    expect(indicator.probes).toBe(2);
  });

  it('turns a thrown error into down with the error as the reason', async () => {
    const indicator = new ControlledIndicator(500);
    const answer = indicator.check();
    await flush();
    indicator.fail(new Error('\nInvalid invocation:\n\nRaw query failed. Code: `SQLITE_IOERR`'));
    expect(await answer).toEqual({ thing: { status: 'down', reason: 'Raw query failed. Code: `SQLITE_IOERR`' } });
  });

  it('logs going down and coming back once each, not per probe', async () => {
    const indicator = new ControlledIndicator(500);
    for (const outcome of [
      { up: false, reason: 'gone' },
      { up: false, reason: 'gone' },
      { up: true },
      { up: true },
    ] as ProbeOutcome[]) {
      const answer = indicator.check();
      await flush();
      indicator.settle(outcome);
      await answer;
    }
    expect(warnings.mock.calls).toEqual([['Readiness: thing is down: gone']]);
    expect(notices.mock.calls).toEqual([['Readiness: thing is up again']]);
  });
});

describe('describeError', () => {
  it('keeps the last meaningful line of a message', () => {
    expect(describeError(new Error('first\n\n  last line  \n'))).toBe('last line');
    expect(describeError('plain')).toBe('plain');
    expect(describeError(new Error(''))).toBe('Error');
  });
});
