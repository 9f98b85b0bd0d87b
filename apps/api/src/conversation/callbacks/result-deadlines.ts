import { randomUUID } from 'node:crypto';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { AppConfig, runsJobs } from '@app/config';
import { PendingRequestStore } from '../pending-requests/pending-request-store';
import { SendResult } from './result-delivery';

/** How often the deadlines are looked at: a chat hears of a lost result within this of its deadline. */
const DEADLINE_SWEEP_INTERVAL_MS = 30_000;

/** Deadlines taken in one go; the next sweep takes the rest. */
const SWEEP_BATCH = 100;

/** How long a sweep holds a request's delivery claim while it tells the chat: a callback arriving then is a duplicate. */
const NOTICE_CLAIM_SECONDS = 60;

const JOB_NAME = 'pending-request-deadlines';

/**
 * Tells a chat when the result of its forwarded message never came. cursor-runner keeps no record
 * of the runs it accepted: one restarted mid-run (a deploy, a crash) sends nothing, ever, and the
 * request only expired, unannounced. Every Telegram request has a deadline a minute before its entry
 * expires; a process that runs jobs looks every {@link DEADLINE_SWEEP_INTERVAL_MS} for passed ones
 * and, for each whose result has not come, claims its delivery as a callback would (a callback
 * arriving meanwhile is then a duplicate), tells the chat and forgets the request. With Redis each
 * deadline is taken by one instance only.
 */
@Injectable()
export class ResultDeadlines implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ResultDeadlines');
  private sweeping: Promise<number> | undefined;

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
    try {
      for (;;) {
        const due = await this.store.takeDue(SWEEP_BATCH);
        for (const requestId of due) if (await this.expire(requestId)) told += 1;
        if (due.length < SWEEP_BATCH) return told;
      }
    } catch (error) {
      // The store cannot answer: the deadlines not taken wait for the next sweep; those of the batch
      // under way are given up (their chats are not told: a store that fails holds their entries too).
      this.logger.warn(`Could not look at the pending requests' deadlines: ${(error as Error).message}`);
      return told;
    }
  }

  /** Tells the chat of `requestId` no result came, unless it came or is on its way; whether it did. */
  private async expire(requestId: string): Promise<boolean> {
    const token = randomUUID();
    if (!(await this.store.claimDelivery(requestId, token, NOTICE_CLAIM_SECONDS))) return false;
    const pending = await this.store.get(requestId);
    if (pending === null || (await this.store.keptResult(requestId)) !== null) {
      await this.store.releaseDeliveryClaim(requestId, token);
      return false;
    }
    this.logger.warn(
      `No result came from cursor-runner for request ${requestId} (forwarded ${pending.createdAt}); telling chat ${pending.chatId}`,
    );
    await this.results.notifyNoResult(requestId, pending);
    await this.store.completeDelivery(requestId);
    return true;
  }
}
