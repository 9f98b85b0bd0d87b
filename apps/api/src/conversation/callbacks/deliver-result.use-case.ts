import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '@app/config';
import { InjectQueue, JobQueue, RetryLaterError, type Job } from '@app/queue';
import { PendingRequestStore } from '../pending-requests/pending-request-store';
import { RESULT_DELIVERIES_QUEUE, resultDeliveryOnceId, type ResultDeliveryJob } from '../result-deliveries.queue';
import { BotUnavailableError, isTransient, MAX_THROTTLED_WAIT_MS, retryDelayMs, throttledForMs } from './delivery-policy';
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
      /**
       * Set when Telegram only throttled the send (429) and its `retry_after` is waited out without
       * using up a try: the wait, in milliseconds. Absent in steps saved before it existed.
       */
      throttledMs?: number;
    };

/** Added to the longest a try's calls may take, for the bot lookup, the settings and saving the step. */
const TRY_LEASE_MARGIN_MS = 5_000;

/**
 * Delivers queued cursor-runner results ({@link RESULT_DELIVERIES_QUEUE}): whichever process runs
 * the job — the one that answered the callback, another instance, a worker (`APP_ROLE=worker`), or
 * the next process after a crash.
 *
 * - A transient failure (Telegram unreachable, 5xx, the bot lookup failing) is tried again,
 *   `CALLBACK_DELIVERY_ATTEMPTS` tries in all, waiting `CALLBACK_DELIVERY_RETRY_DELAY_MS` doubled
 *   per try; the job waits in the queue meanwhile, holding no worker. A 429 is waited out
 *   (`retry_after`) without using up a try, for up to {@link MAX_THROTTLED_WAIT_MS} in all. A
 *   refusal (chat not found, bot blocked) is not tried again.
 * - Every try, the whole-output file and the failure notice are job steps: saved with the job as
 *   soon as they are done, never repeated by a later run of the job. Each is marked begun in the
 *   job before it starts ({@link Job.begin}), so two runs of one job (a run whose lock expired
 *   while it still worked, and the run BullMQ gave the job to) never start the same one. A run
 *   that finds one begun and not saved waits one lease (the longest a try can take) in the queue;
 *   if it is still not saved then, the run that began it is gone and this one takes it over. A
 *   process killed after Telegram accepted a message and before its step was saved (one Redis
 *   write) thus has it sent again by a later run: the user may then see it twice, never zero times.
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

  /** One run of a delivery job; sends already made (by any run) are read from its steps. */
  private async deliver(job: Job<ResultDeliveryJob>): Promise<void> {
    const { requestId, request: pending, result } = job.data;
    const attempts = this.config.callbacks.deliveryAttempts;
    let tries = 0;
    let throttledMs = 0;
    for (let send = 1; ; send += 1) {
      let sentNow = false;
      const outcome = await job.step(`try-${send}`, async () => {
        await this.claim(job, `try-${send}`);
        sentNow = true;
        return this.tryOnce(job.data, tries + 1, attempts, throttledMs);
      });
      if ('sent' in outcome) {
        if (outcome.sent.outputCut) {
          await job.step('whole-output', async () => {
            await this.claim(job, 'whole-output');
            await this.delivery.attachWholeOutput(requestId, pending, result);
          });
        }
        await this.store.completeDelivery(requestId);
        this.logger.log(
          `Delivered cursor-runner result ${requestId} to chat ${pending.chatId} as ${outcome.sent.medium} (try ${tries + 1}/${attempts})`,
        );
        return;
      }
      if (outcome.throttledMs !== undefined) throttledMs += outcome.throttledMs;
      else tries += 1;
      if (outcome.retryInMs === null) {
        await this.giveUp(job, outcome, send);
        return;
      }
      if (sentNow) {
        this.logger.warn(
          outcome.throttledMs !== undefined
            ? `Delivery of cursor-runner result ${requestId} to chat ${pending.chatId} throttled by Telegram (not counted ` +
                `as a try; ${tries}/${attempts} used), trying again in ${outcome.retryInMs} ms: ${outcome.failed}`
            : `Delivery of cursor-runner result ${requestId} to chat ${pending.chatId} failed (try ${tries}/${attempts}), ` +
                `trying again in ${outcome.retryInMs} ms: ${outcome.failed}`,
        );
        throw new RetryLaterError(outcome.retryInMs, `send ${send + 1} of result ${requestId}`);
      }
    }
  }

  /**
   * Makes this run the one that starts Telegram effect `effect` (a step's work), or waits: a run
   * that finds it begun by another and not saved throws {@link RetryLaterError} for one lease, once
   * per take; finding it still unsaved after that, it takes the effect over under the next take's
   * mark. One lease outlasts any try (see {@link leaseMs}), so the run that began it has either
   * saved it by then or died.
   */
  private async claim(job: Job<ResultDeliveryJob>, effect: string): Promise<void> {
    for (let take = 1; ; take += 1) {
      const mark = take === 1 ? effect : `${effect}:take-${take}`;
      if (await job.begin(mark)) return;
      if (await job.begin(`${mark}:waited`)) {
        this.logger.warn(
          `Delivery of cursor-runner result ${job.data.requestId}: ${effect} was begun by another run and not saved; ` +
            `waiting ${this.leaseMs} ms before taking it over`,
        );
        throw new RetryLaterError(this.leaseMs, `${effect} of result ${job.data.requestId}, begun by another run`);
      }
    }
  }

  /**
   * The longest one Telegram effect of a delivery can take, in milliseconds: a spoken reply's
   * synthesis and upload plus a message and its plain-text fallback, each within its client's
   * timeout, and a margin.
   */
  private get leaseMs(): number {
    const telegram = this.config.telegram.timeoutMs;
    const speech = this.config.elevenLabs.apiKey ? this.config.elevenLabs.timeoutMs + telegram : 0;
    return speech + 2 * telegram + TRY_LEASE_MARGIN_MS;
  }

  /** One send; `attempt` is the try it is when it fails for any reason but a throttle. */
  private async tryOnce(
    { requestId, request, result }: ResultDeliveryJob,
    attempt: number,
    attempts: number,
    throttledMs: number,
  ): Promise<TryOutcome> {
    try {
      return { sent: await this.delivery.send(requestId, request, result) };
    } catch (error) {
      const failed = (error as Error).message;
      const wait = throttledForMs(error);
      if (wait !== undefined && throttledMs + wait <= MAX_THROTTLED_WAIT_MS) {
        return { failed, retryInMs: wait, tellUser: false, throttledMs: wait };
      }
      return {
        failed,
        retryInMs: attempt < attempts ? retryDelayMs(error, attempt, this.config.callbacks.retryDelayMs) : null,
        tellUser: !isTransient(error) && !(error instanceof BotUnavailableError),
      };
    }
  }

  private async giveUp(job: Job<ResultDeliveryJob>, outcome: Extract<TryOutcome, { failed: string }>, sends: number): Promise<void> {
    const { requestId, request: pending } = job.data;
    this.logger.error(
      { err: { message: outcome.failed }, requestId, chatId: pending.chatId, botId: pending.botId },
      `Could not deliver cursor-runner result ${requestId} to chat ${pending.chatId} after ${sends} send(s): ` +
        `${outcome.failed}; the pending request stays until its TTL for a replay`,
    );
    if (outcome.tellUser) {
      await job.step('failure-notice', async () => {
        await this.claim(job, 'failure-notice');
        await this.delivery.notifyFailure(requestId, pending, new Error(outcome.failed));
      });
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
