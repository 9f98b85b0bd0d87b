import { Logger } from '@nestjs/common';
import type { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { withTimeout } from '@app/common';

/** What one check of a dependency found. `details` go into the Terminus report as they are. */
export type ProbeOutcome =
  | { up: true; details?: Record<string, unknown> }
  | { up: false; reason: string };

/** The check in flight, which concurrent callers share, and when it began (epoch milliseconds). */
interface SharedProbe {
  outcome: Promise<ProbeOutcome>;
  startedAt: number;
}

/** Milliseconds since `startedAt` (a `performance.now()` reading), to two decimals. */
export function elapsedMs(startedAt: number): number {
  return Math.round((performance.now() - startedAt) * 100) / 100;
}

/** The first line of an error's message that says something (Prisma puts the cause last). */
export function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const lines = message.split('\n').map((line) => line.trim()).filter(Boolean);
  return lines.at(-1) ?? (error instanceof Error ? error.name : 'unknown error');
}

/**
 * A Terminus indicator for one dependency of readiness. Probes never pile up: concurrent callers
 * share the one check in flight, and a new check starts only after it has settled — even when
 * callers stopped waiting for it — so a stuck dependency holds at most one probe per indicator.
 * Each caller waits at most until `timeoutMs` after the check began, then reports the dependency
 * down. A failure is an answer (`down` with a reason), never an exception, and it is logged once
 * when it starts and once when the dependency is back, not per probe.
 */
export abstract class DependencyIndicator<Key extends string> {
  private running: SharedProbe | undefined;
  private lastUp = true;
  private readonly logger = new Logger('Health');

  protected constructor(
    /** Name of the dependency in the Terminus report (`details.<key>`). */
    readonly key: Key,
    private readonly indicators: HealthIndicatorService,
    /** Longest a caller waits for the check, in milliseconds. */
    private readonly timeoutMs: number,
  ) {}

  /** Checks the dependency and answers `up` or `down` with a reason; never throws. */
  async check(): Promise<HealthIndicatorResult<Key>> {
    const outcome = await this.withinBudget(this.shared());
    this.noteTransition(outcome);
    const session = this.indicators.check(this.key);
    return outcome.up ? session.up(outcome.details ?? {}) : session.down({ reason: outcome.reason });
  }

  /** One look at the dependency; may throw or hang, the base class bounds both. */
  protected abstract probe(): Promise<ProbeOutcome>;

  private shared(): SharedProbe {
    if (!this.running) {
      const outcome = Promise.resolve()
        .then(() => this.probe())
        .catch((error: unknown): ProbeOutcome => ({ up: false, reason: describeError(error) }));
      const run = { outcome, startedAt: Date.now() };
      this.running = run;
      void outcome.finally(() => {
        if (this.running === run) this.running = undefined;
      });
    }
    return this.running;
  }

  /**
   * The budget runs from the probe's start, not the caller's arrival: a caller joining a probe that
   * has already taken most of it waits only for what is left, so a dependency answering slower than
   * `timeoutMs` is down for every caller — not up for the one that happened to arrive late.
   * `outcome` never rejects (see {@link shared}), so a rejection here is the budget running out.
   */
  private withinBudget({ outcome, startedAt }: SharedProbe): Promise<ProbeOutcome> {
    const reason = `no answer within ${this.timeoutMs} ms`;
    const left = this.timeoutMs - (Date.now() - startedAt);
    if (left <= 0) return Promise.resolve({ up: false, reason });
    return withTimeout(outcome, left, () => new Error(reason)).catch((): ProbeOutcome => ({ up: false, reason }));
  }

  private noteTransition(outcome: ProbeOutcome): void {
    if (outcome.up === this.lastUp) return;
    this.lastUp = outcome.up;
    if (outcome.up) this.logger.log(`Readiness: ${this.key} is up again`);
    else this.logger.warn(`Readiness: ${this.key} is down: ${outcome.reason}`);
  }
}
