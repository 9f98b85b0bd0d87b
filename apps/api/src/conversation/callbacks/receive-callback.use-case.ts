import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { BadRequestException, Injectable, Logger, ServiceUnavailableException, type OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '@app/config';
import { InjectQueue, JobQueue, QueueUnavailableError, type AddResult } from '@app/queue';
import {
  InvalidRequestIdError,
  KEPT_RESULT_FIELDS,
  PENDING_REQUEST_MAX_TTL_SECONDS,
  PendingRequestStore,
  type KeptResult,
  type PendingEntry,
  type PendingRequest,
} from '../pending-requests/pending-request-store';
import { RESULT_DELIVERIES_QUEUE, resultDeliveryOnceId, type ResultDeliveryJob } from '../result-deliveries.queue';
import { readCallbackParams } from './callback-params';
import { normalizeCallbackResult } from './result-message';

/**
 * How long a delivery claim lasts once its result is queued, in seconds: longer than a delivery
 * with its retries takes (three tries of speech synthesis plus two Telegram calls each, with their
 * waits). The delivery job ends it.
 */
export const DELIVERY_CLAIM_TTL_SECONDS = 900;

/**
 * How long a claim lasts until its result is queued, in seconds: longer than one receipt of a
 * callback can hold it — its wait, plus a last try whose four commands (claim, lookup, queueing,
 * extension) each take up to a command budget, plus a second — so it does not lapse under the
 * receipt that holds it. A claim whose receipt ended without queueing (given up, or its process
 * killed, with a claim still in a hung Redis's buffer that lands once Redis answers again) refuses
 * a replay as a duplicate for at most this long, not for the 15 minutes a queued delivery may take.
 */
function claimUntilQueuedSeconds(config: AppConfig): number {
  return Math.ceil((config.callbacks.redisWaitMs + 4 * config.redisCommandTimeoutMs) / 1000) + 1;
}

/**
 * How long a result's `once` id is remembered, in seconds: as long as a pending request can live,
 * so a duplicate callback never queues a second delivery of a result still waiting for a worker.
 */
export const RESULT_ONCE_TTL_SECONDS = PENDING_REQUEST_MAX_TTL_SECONDS;

/** Longest output or error kept in the log line of a callback the store could not take. */
const LOGGED_TEXT_LIMIT = 4_096;

/** Pause between tries of a callback Redis could not take, in milliseconds. */
export const CALLBACK_RETRY_PAUSE_MS = 500;

/** Redis (the pending request store or the queue) could not take the callback on this try. */
class RedisCannotTake extends Error {
  constructor(readonly reason: unknown) {
    super((reason as Error)?.message ?? String(reason));
  }
}

export type CallbackAnswer =
  | { received: true; request_id: string }
  | { received: true; request_id: string; message: 'Already being delivered' }
  | { received: true; message: 'Request not found' };

function clip(value: unknown): unknown {
  return typeof value === 'string' && value.length > LOGGED_TEXT_LIMIT ? `${value.slice(0, LOGGED_TEXT_LIMIT)}…` : value;
}

/**
 * Takes a result cursor-runner posted to `POST /cursor-runner/callback` (docs/cursor-runner.md,
 * "Callback contract"). The answer comes once the pending request is claimed and the result is
 * stored in the result-deliveries queue (Redis, when configured): from then on a crash of this
 * process does not lose it. It reaches Telegram afterwards (`DeliverResult`, on any process that
 * runs jobs).
 *
 * - 400 `{error: "request_id is required"}` / `{error: "Invalid request_id format"}`.
 * - 200 `{received: true, message: "Request not found"}`: no pending request (expired, already
 *   delivered, never stored).
 * - 200 `{received: true, request_id, message: "Already being delivered"}`: a duplicate of a
 *   callback whose delivery is queued or under way; it sends nothing.
 * - 503 `{received: false, error: "Pending request store unavailable", request_id}`: Redis could
 *   not take it (the store or the queue, each within `REDIS_COMMAND_TIMEOUT_MS`) on any try during
 *   `CALLBACK_REDIS_WAIT_MS` — cursor-runner sends a result once and waits 30 s for the answer, so
 *   a Redis restart or failover shorter than that loses nothing — or the app began to shut down
 *   meanwhile, or the callbacks already waiting hold `CALLBACK_WAIT_MAX_BYTES` (then after one
 *   try). Not "not found": cursor-runner logs the non-2xx as an error, and this service logs the
 *   callback's content at error level, so the one attempt cursor-runner makes is seen and can be
 *   replayed instead of vanishing.
 * - 200 `{received: true, request_id}`: accepted and queued; delivery follows.
 */
@Injectable()
export class ReceiveCallback implements OnModuleDestroy {
  private readonly logger = new Logger('CursorRunnerCallback');
  /** Ends the waits between tries when the app shuts down: those callbacks are answered 503 at once. */
  private readonly stopping = new AbortController();
  /** The callbacks waiting for Redis between tries, and their size (see {@link holdForWait}). */
  private waiting = { callbacks: 0, bytes: 0 };

  constructor(
    private readonly store: PendingRequestStore,
    @InjectQueue(RESULT_DELIVERIES_QUEUE) private readonly deliveries: JobQueue<ResultDeliveryJob>,
    private readonly config: AppConfig,
  ) {}

  /** Nest closes modules before the HTTP server, which waits for the answers of callbacks still trying. */
  onModuleDestroy(): void {
    this.stopping.abort();
  }

  /** The callback's query string and body as they came. */
  async receive(query: unknown, body: unknown): Promise<CallbackAnswer> {
    const { requestId, fields } = readCallbackParams(query, body);
    if (requestId === undefined) throw new BadRequestException({ error: 'request_id is required' });
    const held = { bytes: 0 };
    try {
      return await this.takeWithinWait(requestId, fields, randomUUID(), held);
    } finally {
      if (held.bytes > 0) this.waiting = { callbacks: this.waiting.callbacks - 1, bytes: this.waiting.bytes - held.bytes };
    }
  }

  /**
   * Tries until taken or the wait is over, every try claiming under `claimToken` (this receipt's):
   * a claim an earlier try sent that reached Redis late is this receipt's own, not a duplicate's.
   * `held.bytes` is what it counts against `CALLBACK_WAIT_MAX_BYTES` meanwhile.
   */
  private async takeWithinWait(
    requestId: string,
    fields: Record<string, unknown>,
    claimToken: string,
    held: { bytes: number },
  ): Promise<CallbackAnswer> {
    const startedAt = Date.now();
    const deadline = startedAt + this.config.callbacks.redisWaitMs;
    const triesSoFar = (tries: number) =>
      this.stopping.signal.aborted ? 'the app is shutting down' : `${tries} ${tries === 1 ? 'try' : 'tries'} in ${Date.now() - startedAt} ms`;
    const giveUp = (reason: unknown, why: string) => {
      // Not awaited: with Redis hanging that would wait out another command budget before the 503.
      // Sent after this receipt's claims on the same connection, it ends one that landed late.
      void this.store.releaseDeliveryClaim(requestId, claimToken);
      return this.unavailable(requestId, fields, reason, why);
    };
    for (let tries = 1; ; tries += 1) {
      try {
        const answer = await this.take(requestId, fields, claimToken);
        if (tries === 1) return answer;
        if ('message' in answer && answer.message === 'Request not found') this.notFoundAfterWait(requestId, fields, triesSoFar(tries));
        else this.logger.log(`cursor-runner result ${requestId} taken on try ${tries}, ${Date.now() - startedAt} ms after it arrived`);
        return answer;
      } catch (error) {
        if (!(error instanceof RedisCannotTake)) throw error;
        // A try Redis still does not answer takes one command budget: none starts that would end past the wait.
        const waitLeft = deadline - Date.now() - CALLBACK_RETRY_PAUSE_MS - this.config.redisCommandTimeoutMs;
        if (waitLeft < 0 || this.stopping.signal.aborted) throw giveUp(error.reason, triesSoFar(tries));
        if (tries === 1) {
          held.bytes = this.holdForWait(fields);
          if (held.bytes === 0) throw giveUp(error.reason, this.describeFullWait());
          this.logger.warn(
            `Redis cannot take cursor-runner result ${requestId} now (${error.message}); trying again for up to ${this.config.callbacks.redisWaitMs} ms`,
          );
        }
        await sleep(CALLBACK_RETRY_PAUSE_MS, undefined, { signal: this.stopping.signal }).catch(() => undefined);
        if (this.stopping.signal.aborted) throw giveUp(error.reason, triesSoFar(tries));
      }
    }
  }

  /**
   * Counts a callback about to wait for Redis against `CALLBACK_WAIT_MAX_BYTES`, by the size of its
   * fields as JSON (measured only here, on the way into a wait): the bytes it holds, or 0 when the
   * callbacks already waiting leave no room for it — it is answered 503 after its one try, logged
   * for a replay, rather than holding the process's memory for the whole wait.
   */
  private holdForWait(fields: Record<string, unknown>): number {
    const bytes = Math.max(1, Buffer.byteLength(JSON.stringify(fields)));
    if (this.waiting.bytes + bytes > this.config.callbacks.waitMaxBytes) return 0;
    this.waiting = { callbacks: this.waiting.callbacks + 1, bytes: this.waiting.bytes + bytes };
    return bytes;
  }

  private describeFullWait(): string {
    const { callbacks, bytes } = this.waiting;
    return `no room to wait: ${callbacks} ${callbacks === 1 ? 'callback waits' : 'callbacks wait'} for Redis holding ${bytes} bytes, CALLBACK_WAIT_MAX_BYTES is ${this.config.callbacks.waitMaxBytes}`;
  }

  /** One try: claims the pending request and queues its delivery. Throws {@link RedisCannotTake}. */
  private async take(requestId: string, fields: Record<string, unknown>, claimToken: string): Promise<CallbackAnswer> {
    let entry: PendingEntry | null;
    try {
      if (!(await this.store.claimDelivery(requestId, claimToken, claimUntilQueuedSeconds(this.config)))) {
        this.logger.warn(`Duplicate cursor-runner callback ${requestId} while its delivery is under way; ignored`);
        return { received: true, request_id: requestId, message: 'Already being delivered' };
      }
      entry = await this.store.find(requestId);
      // An API client's result is all there is of its run: kept before the answer, or the callback fails.
      if (entry?.kind === 'api') await this.store.keepResult(requestId, keptResultOf(fields));
    } catch (error) {
      if (error instanceof InvalidRequestIdError) throw new BadRequestException({ error: 'Invalid request_id format' });
      throw new RedisCannotTake(error);
    }
    if (entry === null) {
      await this.store.releaseDeliveryClaim(requestId, claimToken);
      this.logger.warn(`cursor-runner callback for unknown request ${requestId} (expired, delivered or never stored)`);
      return { received: true, message: 'Request not found' };
    }
    if (entry.kind === 'api') {
      await this.store.completeDelivery(requestId);
      this.logger.log(`cursor-runner result ${requestId} kept for its API client`);
      return { received: true, request_id: requestId };
    }
    // One after the other: each writes the whole output as JSON (up to six times its size, a control
    // character being \u00XX), and side by side their copies of a 10 MiB output added about 120 MB to
    // the process's peak (888 against 771 MiB, docs/operations.md). A Redis that starts hanging after
    // the job is stored costs the keep's budget more.
    const answer = await this.queueDelivery(requestId, entry.request, fields, claimToken);
    await this.keepForLookup(requestId, fields);
    return answer;
  }

  /**
   * Stores the delivery in the queue, once per request id; the claim now belongs to the job, and
   * lasts as long as a delivery may.
   */
  private async queueDelivery(
    requestId: string,
    request: PendingRequest,
    fields: Record<string, unknown>,
    claimToken: string,
  ): Promise<CallbackAnswer> {
    const job: ResultDeliveryJob = { requestId, request, result: normalizeCallbackResult(fields) };
    let added: AddResult;
    try {
      added = await this.deliveries.add(job, { once: { id: resultDeliveryOnceId(requestId), ttlSeconds: RESULT_ONCE_TTL_SECONDS } });
    } catch (error) {
      if (error instanceof QueueUnavailableError) throw new RedisCannotTake(error);
      throw error;
    }
    // Either way a job of the request is queued, and its end ends this claim. Not awaited: the result
    // is safe in the queue, and a Redis that starts hanging now must not hold the answer.
    void this.store.extendDeliveryClaim(requestId, claimToken, DELIVERY_CLAIM_TTL_SECONDS);
    if (added.status === 'duplicate') {
      this.logger.warn(
        `cursor-runner result ${requestId} is already queued (by an earlier try of this callback whose answer did not come, or by a duplicate); not queued again`,
      );
      return { received: true, request_id: requestId, message: 'Already being delivered' };
    }
    return { received: true, request_id: requestId };
  }

  /** A Telegram request's result, kept for `GET /cursor-runner/requests/:id` too; the user gets it either way. */
  private async keepForLookup(requestId: string, fields: Record<string, unknown>): Promise<void> {
    try {
      await this.store.keepResult(requestId, keptResultOf(fields));
    } catch (error) {
      this.logger.warn(`Could not keep result ${requestId} for lookup (it is still delivered): ${(error as Error).message}`);
    }
  }

  /**
   * Logs the callback for a replay: it waited for Redis, and once Redis answered its pending request
   * was gone — a Redis that restarted without persistence has lost every pending request — so no one
   * can be told and cursor-runner does not send it again.
   */
  private notFoundAfterWait(requestId: string, fields: Record<string, unknown>, waited: string): void {
    this.logger.error(
      { requestId, callback: Object.fromEntries(Object.entries(fields).map(([name, value]) => [name, clip(value)])) },
      `cursor-runner result ${requestId} waited for Redis (${waited}) and found no pending request once Redis answered ` +
        '(a Redis restarted without persistence has lost them): it cannot be delivered, and the callback is logged here for a replay',
    );
  }

  /** Logs the callback for a replay: Redis could not take it. */
  private unavailable(requestId: string, fields: Record<string, unknown>, error: unknown, gaveUp: string): Error {
    this.logger.error(
      {
        err: error,
        requestId,
        callback: Object.fromEntries(Object.entries(fields).map(([name, value]) => [name, clip(value)])),
      },
      `Pending request store unavailable (${gaveUp}): cursor-runner result ${requestId} cannot be delivered now and ` +
        'cursor-runner does not retry; the callback is logged here for a replay',
    );
    return new ServiceUnavailableException({
      received: false,
      error: 'Pending request store unavailable',
      request_id: requestId,
    });
  }
}

/** The snake_case spelling a callback may use for a kept field, as `normalizeCallbackResult` reads it. */
const SNAKE_CASE_SPELLINGS: Partial<Record<(typeof KEPT_RESULT_FIELDS)[number], string>> = { exitCode: 'exit_code' };

/**
 * The result as cursor-runner sent it: the {@link KEPT_RESULT_FIELDS} it had, values untouched, under
 * their camelCase names whichever spelling the callback used. With both spellings sent, the one the
 * user's message was made from: the camelCase one unless it is null.
 */
function keptResultOf(fields: Record<string, unknown>): KeptResult {
  const result: Record<string, unknown> = {};
  const sent = (name: string | undefined): name is string => name !== undefined && Object.prototype.hasOwnProperty.call(fields, name);
  for (const name of KEPT_RESULT_FIELDS) {
    const snakeCase = SNAKE_CASE_SPELLINGS[name];
    if (sent(snakeCase) && (!sent(name) || fields[name] === null)) result[name] = fields[snakeCase];
    else if (sent(name)) result[name] = fields[name];
  }
  return { result, receivedAt: new Date().toISOString() };
}
