import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { AppConfig, runsJobs } from '@app/config';
import { DEADLINE_LEAD_MS, PendingRequestStore } from '../pending-requests/pending-request-store';
import { SendResult } from './result-delivery';

/** How often the deadlines are looked at: a chat hears of a lost result within this of its deadline. */
const DEADLINE_SWEEP_INTERVAL_MS = 30_000;

/**
 * How long a taken deadline stays the taker's, more than its notice may take (a send and its plain
 * retry, each up to `TELEGRAM_TIMEOUT_MS`): a sweep that dies or fails before it forgets one leaves
 * it to a sweep this much later (still before the entry expires, {@link DEADLINE_LEAD_MS}). Deadlines
 * are taken one at a time, so a slow Telegram never makes a taken one due again while it waits its turn.
 */
function leaseMs(config: AppConfig): number {
  return 2 * config.telegram.timeoutMs + 30_000;
}

const JOB_NAME = 'pending-request-deadlines';

/**
 * Tells a chat when the result of its forwarded message never came. cursor-runner keeps no record
 * of the runs it accepted: one restarted mid-run (a deploy, a crash) sends nothing, ever, and the
 * request only expired, unannounced. Every Telegram request has a deadline {@link DEADLINE_LEAD_MS}
 * before its entry expires; a process that runs jobs looks every {@link DEADLINE_SWEEP_INTERVAL_MS}
 * for passed ones, each taken for a lease (with Redis, by one instance at a time), and for each
 * whose result has not come and is not on its way tells the chat, then forgets the deadline. The
 * entry is left to its expiry: a result that comes after the notice is still delivered. A sweep
 * cut short (a kill, Redis failing, the app stopping) leaves what it did not finish to a sweep a
 * lease later, so a chat is told at least once — twice if the sweep died between telling it and forgetting.
 */
@Injectable()
export class ResultDeadlines implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ResultDeadlines');
  private sweeping: Promise<number> | undefined;
  /** The app is stopping: a sweep under way ends after the notice it is sending. */
  private stopping = false;

  constructor(
    private readonly store: PendingRequestStore,
    private readonly results: SendResult,
    private readonly scheduler: SchedulerRegistry,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (!runsJobs(this.config.role)) return;
    const timer = setInterval(() => void this.sweep(), DEADLINE_SWEEP_INTERVAL_MS);
    timer.unref();
    this.scheduler.addInterval(JOB_NAME, timer);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    if (this.scheduler.doesExist('interval', JOB_NAME)) this.scheduler.deleteInterval(JOB_NAME);
    await this.sweeping;
  }

  /** Looks at every passed deadline once; resolves with the chats told. One sweep at a time. */
  sweep(): Promise<number> {
    this.sweeping ??= this.sweepAll().finally(() => {
      this.sweeping = undefined;
    });
    return this.sweeping;
  }

  private async sweepAll(): Promise<number> {
    let told = 0;
    while (!this.stopping) {
      let due: string[];
      try {
        due = await this.store.takeDue(1, leaseMs(this.config));
      } catch (error) {
        this.logger.warn(`Could not look at the pending requests' deadlines (the next sweep will): ${(error as Error).message}`);
        return told;
      }
      const [requestId] = due;
      if (requestId === undefined) return told;
      try {
        if (await this.expire(requestId)) told += 1;
      } catch (error) {
        // Still leased: a sweep a lease later takes it again.
        this.logger.warn(`Could not look at the deadline of request ${requestId} (a later sweep will): ${(error as Error).message}`);
      }
    }
    return told;
  }

  /**
   * Tells the chat of `requestId` no result came, unless it came (its delivery is under way, or its
   * result is kept: a delivery that failed leaves the entry for a replay) or the entry is gone; whether it did.
   */
  private async expire(requestId: string): Promise<boolean> {
    const pending = await this.store.get(requestId);
    if (pending === null || (await this.store.resultCame(requestId))) {
      await this.store.forgetDeadline(requestId);
      return false;
    }
    const minutes = Math.round((Date.now() - Date.parse(pending.createdAt)) / 60_000);
    this.logger.warn(
      `No result came from cursor-runner for request ${requestId} (forwarded ${pending.createdAt}); telling chat ${pending.chatId}`,
    );
    await this.results.notifyNoResult(requestId, pending, Number.isFinite(minutes) ? minutes : undefined);
    await this.store.forgetDeadline(requestId);
    return true;
  }
}
