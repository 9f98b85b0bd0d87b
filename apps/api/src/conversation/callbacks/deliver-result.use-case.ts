import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '@app/config';
import { PendingRequestStore, type PendingRequest } from '../pending-requests/pending-request-store';
import { BotUnavailableError, isTransient, retryDelayMs } from './delivery-policy';
import { SendResult } from './result-delivery';
import type { CallbackResult } from './result-message';

/** One delivery under way, for the shutdown drain and its log. */
interface InFlight {
  requestId: string;
  done: Promise<void>;
}

/**
 * Deliveries of cursor-runner results, run in this process after the callback has been answered
 * (cursor-runner waits at most 30 s and never retries, Telegram may be slow), tracked so shutdown
 * waits for them.
 *
 * - A transient failure (Telegram unreachable, 5xx, 429, the bot lookup failing) is tried again,
 *   `CALLBACK_DELIVERY_ATTEMPTS` tries in all, waiting `CALLBACK_DELIVERY_RETRY_DELAY_MS` doubled
 *   per try, or a 429's `retry_after`. A refusal (chat not found, bot blocked) is not.
 * - The pending request is deleted only once the result reached the user. When it did not, the
 *   failure is logged with the request id, the user is told when their chat is still reachable,
 *   and the entry stays until its TTL, so an operator can see it and replay the callback.
 * - Shutdown (`beforeApplicationShutdown`, before the HTTP server and the Redis and Telegram
 *   connections close) waits up to `SHUTDOWN_TIMEOUT_MS` for deliveries in flight; waits between
 *   tries end at once and no further try is made. Callbacks accepted while shutting down are
 *   delivered before they are answered, so the HTTP drain covers them.
 */
@Injectable()
export class DeliverResult implements BeforeApplicationShutdown {
  private readonly logger = new Logger('CallbackDeliveries');
  private readonly inFlight = new Set<InFlight>();
  private readonly pendingWaits = new Set<() => void>();
  private closing = false;

  constructor(
    private readonly delivery: SendResult,
    private readonly store: PendingRequestStore,
    private readonly config: AppConfig,
  ) {}

  /** Deliveries under way. */
  get size(): number {
    return this.inFlight.size;
  }

  /**
   * Starts delivering `result` to the user of `pending`; the caller holds the delivery claim of
   * `requestId`, which this ends. Resolves at once (the delivery runs after the callback's answer
   * is sent), or, while the app shuts down, once the delivery has finished. Never rejects.
   */
  submit(requestId: string, pending: PendingRequest, result: CallbackResult): Promise<void> {
    const entry: InFlight = {
      requestId,
      // setImmediate: the callback's answer is written before any delivery work starts.
      done: new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => this.deliver(requestId, pending, result))
        .finally(() => this.inFlight.delete(entry)),
    };
    this.inFlight.add(entry);
    return this.closing ? entry.done : Promise.resolve();
  }

  /** Resolves once no delivery is under way (including ones submitted meanwhile). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) {
      await Promise.all([...this.inFlight].map((entry) => entry.done));
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.closing = true;
    for (const wake of this.pendingWaits) wake();
    if (this.inFlight.size === 0) return;
    const budgetMs = this.config.http.shutdownTimeoutMs;
    this.logger.log(`Waiting up to ${budgetMs} ms for ${this.inFlight.size} callback delivery(ies) before shutdown`);
    let timer: NodeJS.Timeout | undefined;
    const outOfTime = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), budgetMs);
    });
    const outcome = await Promise.race([this.settled().then(() => 'settled' as const), outOfTime]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      const ids = [...this.inFlight].map((entry) => entry.requestId).join(', ');
      this.logger.error(
        `Shutting down with ${this.inFlight.size} callback delivery(ies) unfinished after ${budgetMs} ms (${ids}); ` +
          'their pending requests stay in the store until their TTL for a replay',
      );
    }
  }

  private async deliver(requestId: string, pending: PendingRequest, result: CallbackResult): Promise<void> {
    const attempts = this.config.callbacks.deliveryAttempts;
    for (let attempt = 1; ; attempt += 1) {
      try {
        const medium = await this.delivery.send(requestId, pending, result);
        await this.store.completeDelivery(requestId);
        this.logger.log(
          `Delivered cursor-runner result ${requestId} to chat ${pending.chatId} as ${medium} (try ${attempt}/${attempts})`,
        );
        return;
      } catch (error) {
        const delay = attempt < attempts && !this.closing ? retryDelayMs(error, attempt, this.config.callbacks.retryDelayMs) : null;
        if (delay !== null) {
          this.logger.warn(
            `Delivery of cursor-runner result ${requestId} to chat ${pending.chatId} failed (try ${attempt}/${attempts}), ` +
              `trying again in ${delay} ms: ${(error as Error).message}`,
          );
          await this.wait(delay);
          if (!this.closing) continue;
        }
        await this.giveUp(requestId, pending, error as Error, attempt);
        return;
      }
    }
  }

  private async giveUp(requestId: string, pending: PendingRequest, error: Error, attempts: number): Promise<void> {
    const why = this.closing ? ' (shutting down)' : '';
    this.logger.error(
      { err: error, requestId, chatId: pending.chatId, botId: pending.botId },
      `Could not deliver cursor-runner result ${requestId} to chat ${pending.chatId} after ${attempts} try(ies)${why}: ` +
        `${error.message}; the pending request stays until its TTL for a replay`,
    );
    if (!isTransient(error) && !(error instanceof BotUnavailableError)) {
      await this.delivery.notifyFailure(requestId, pending, error);
    }
    await this.store.releaseDelivery(requestId);
  }

  /** Waits `ms`, or less when shutdown begins. */
  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.pendingWaits.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.pendingWaits.add(wake);
    });
  }
}
