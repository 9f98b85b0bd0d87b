import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '@app/config';
import { InjectQueue, JobQueue, RetryLaterError, type Job } from '@app/queue';
import { PendingRequestStore } from '../pending-requests/pending-request-store';
import { RESULT_DELIVERIES_QUEUE, resultDeliveryOnceId, type ResultDeliveryJob } from '../result-deliveries.queue';
import { BotUnavailableError, isTransient, retryDelayMs } from './delivery-policy';
import { SendResult, type SentResult } from './result-delivery';

/** How one try at the message ended, saved as a job step so no process repeats it. */
type TryOutcome =
  | { sent: SentResult }
  | {
      failed: string;
      /** Wait before the next try, or `null` when no try follows (a refusal, the last try, a `retry_after` too long). */
      retryInMs: number | null;
      /** The chat is reachable and refused only this message: the user is told it failed. */
      tellUser: boolean;
    };

/**
 * Delivers queued cursor-runner results ({@link RESULT_DELIVERIES_QUEUE}): whichever process runs
 * the job — the one that answered the callback, another instance, a worker (`APP_ROLE=worker`), or
 * the next process after a crash.
 *
 * - A transient failure (Telegram unreachable, 5xx, 429, the bot lookup failing) is tried again,
 *   `CALLBACK_DELIVERY_ATTEMPTS` tries in all, waiting `CALLBACK_DELIVERY_RETRY_DELAY_MS` doubled
 *   per try, or a 429's `retry_after`; the job waits in the queue meanwhile, holding no worker. A
 *   refusal (chat not found, bot blocked) is not tried again.
 * - Every try, the whole-output file and the failure notice are job steps: saved with the job as
 *   soon as they are done, never repeated by a later run of the job. A process killed after
 *   Telegram accepted a message and before its step was saved (one Redis write) sends it again
 *   from the next process: the user may then see it twice, never zero times.
 * - The pending request is deleted only once the result reached the user. When it did not, the
 *   failure is logged with the request id, the user is told when their chat is still reachable,
 *   and the entry stays until its TTL with its claim and `once` id released, so the callback may
 *   be replayed.
 */
@Injectable()
export class DeliverResult implements OnApplicationBootstrap {
  private readonly logger = new Logger('CallbackDeliveries');
  private running = 0;

  constructor(
    @InjectQueue(RESULT_DELIVERIES_QUEUE) private readonly queue: JobQueue<ResultDeliveryJob>,
    private readonly delivery: SendResult,
    private readonly store: PendingRequestStore,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.queue.process((job) => this.run(job), {
      giveUp: (job, interruptions) => this.interruptedTooOften(job, interruptions),
    });
  }

  /** Deliveries running in this process now (the shutdown drain waits for them). */
  get size(): number {
    return this.running;
  }

  /**
   * Resolves once no delivery is queued, waiting for a retry or running — in this process without
   * Redis, on any instance with it (tests and benchmarks wait for this before looking at Telegram).
   */
  async settled(): Promise<void> {
    for (;;) {
      const depth = await this.queue.depth();
      if (this.running === 0 && depth.waiting + depth.active + depth.delayed === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  private async run(job: Job<ResultDeliveryJob>): Promise<void> {
    this.running += 1;
    try {
      await this.deliver(job);
    } finally {
      this.running -= 1;
    }
  }

  /** One run of a delivery job; tries already made (by any process) are read from its steps. */
  private async deliver(job: Job<ResultDeliveryJob>): Promise<void> {
    const { requestId, request: pending, result } = job.data;
    const attempts = this.config.callbacks.deliveryAttempts;
    for (let attempt = 1; ; attempt += 1) {
      let triedNow = false;
      const outcome = await job.step(`try-${attempt}`, () => {
        triedNow = true;
        return this.tryOnce(job.data, attempt, attempts);
      });
      if ('sent' in outcome) {
        if (outcome.sent.outputCut) {
          await job.step('whole-output', () => this.delivery.attachWholeOutput(requestId, pending, result));
        }
        await this.store.completeDelivery(requestId);
        this.logger.log(
          `Delivered cursor-runner result ${requestId} to chat ${pending.chatId} as ${outcome.sent.medium} (try ${attempt}/${attempts})`,
        );
        return;
      }
      if (outcome.retryInMs === null) {
        await this.giveUp(job, outcome, attempt);
        return;
      }
      if (triedNow) {
        this.logger.warn(
          `Delivery of cursor-runner result ${requestId} to chat ${pending.chatId} failed (try ${attempt}/${attempts}), ` +
            `trying again in ${outcome.retryInMs} ms: ${outcome.failed}`,
        );
        throw new RetryLaterError(outcome.retryInMs, `try ${attempt + 1}/${attempts} of result ${requestId}`);
      }
    }
  }

  private async tryOnce({ requestId, request, result }: ResultDeliveryJob, attempt: number, attempts: number): Promise<TryOutcome> {
    try {
      return { sent: await this.delivery.send(requestId, request, result) };
    } catch (error) {
      return {
        failed: (error as Error).message,
        retryInMs: attempt < attempts ? retryDelayMs(error, attempt, this.config.callbacks.retryDelayMs) : null,
        tellUser: !isTransient(error) && !(error instanceof BotUnavailableError),
      };
    }
  }

  private async giveUp(job: Job<ResultDeliveryJob>, outcome: Extract<TryOutcome, { failed: string }>, attempts: number): Promise<void> {
    const { requestId, request: pending } = job.data;
    this.logger.error(
      { err: { message: outcome.failed }, requestId, chatId: pending.chatId, botId: pending.botId },
      `Could not deliver cursor-runner result ${requestId} to chat ${pending.chatId} after ${attempts} try(ies): ` +
        `${outcome.failed}; the pending request stays until its TTL for a replay`,
    );
    if (outcome.tellUser) {
      await job.step('failure-notice', () => this.delivery.notifyFailure(requestId, pending, new Error(outcome.failed)));
    }
    await this.releaseForReplay(requestId);
  }

  /**
   * A delivery whose process died more often than `QUEUE_MAX_STALLED_COUNT` allows (a result that
   * crashes it, or a node that keeps being evicted): not tried again, but logged at error level and
   * released, so a replayed callback is queued afresh instead of answered "Already being delivered".
   */
  private async interruptedTooOften(job: Job<ResultDeliveryJob>, interruptions: number): Promise<void> {
    const { requestId, request: pending } = job.data;
    this.logger.error(
      { requestId, chatId: pending.chatId, botId: pending.botId },
      `Delivery of cursor-runner result ${requestId} to chat ${pending.chatId} was cut short ${interruptions} times; ` +
        'given up, the pending request stays until its TTL for a replay',
    );
    await this.releaseForReplay(requestId);
  }

  private async releaseForReplay(requestId: string): Promise<void> {
    await this.store.releaseDelivery(requestId);
    await this.queue.forgetOnce(resultDeliveryOnceId(requestId));
  }
}
