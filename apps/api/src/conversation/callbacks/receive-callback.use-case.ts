import { BadRequestException, Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
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
 * How long a delivery claim lasts, in seconds: longer than a delivery with its retries takes (three
 * tries of speech synthesis plus two Telegram calls each, with their waits). The delivery job ends
 * it; it outlives its job only when a process died between the claim and the queueing (a callback
 * that was never answered 200): a replay is then refused as a duplicate for at most this long.
 */
export const DELIVERY_CLAIM_TTL_SECONDS = 900;

/**
 * How long a result's `once` id is remembered, in seconds: as long as a pending request can live,
 * so a duplicate callback never queues a second delivery of a result still waiting for a worker.
 */
export const RESULT_ONCE_TTL_SECONDS = PENDING_REQUEST_MAX_TTL_SECONDS;

/** Longest output or error kept in the log line of a callback the store could not take. */
const LOGGED_TEXT_LIMIT = 4_096;

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
 * - 503 `{received: false, error: "Pending request store unavailable", request_id}`: Redis cannot
 *   answer (the store or the queue, each within `REDIS_COMMAND_TIMEOUT_MS`). Not "not found":
 *   cursor-runner logs the non-2xx as an error, and this service logs the callback's content at
 *   error level, so the one attempt cursor-runner makes is seen and can be replayed instead of
 *   vanishing.
 * - 200 `{received: true, request_id}`: accepted and queued; delivery follows.
 */
@Injectable()
export class ReceiveCallback {
  private readonly logger = new Logger('CursorRunnerCallback');

  constructor(
    private readonly store: PendingRequestStore,
    @InjectQueue(RESULT_DELIVERIES_QUEUE) private readonly deliveries: JobQueue<ResultDeliveryJob>,
  ) {}

  /** The callback's query string and body as they came. */
  async receive(query: unknown, body: unknown): Promise<CallbackAnswer> {
    const { requestId, fields } = readCallbackParams(query, body);
    if (requestId === undefined) throw new BadRequestException({ error: 'request_id is required' });
    let entry: PendingEntry | null;
    try {
      if (!(await this.store.claimDelivery(requestId, DELIVERY_CLAIM_TTL_SECONDS))) {
        this.logger.warn(`Duplicate cursor-runner callback ${requestId} while its delivery is under way; ignored`);
        return { received: true, request_id: requestId, message: 'Already being delivered' };
      }
      entry = await this.store.find(requestId);
      // An API client's result is all there is of its run: kept before the answer, or the callback fails.
      if (entry?.kind === 'api') await this.store.keepResult(requestId, keptResultOf(fields));
    } catch (error) {
      if (error instanceof InvalidRequestIdError) throw new BadRequestException({ error: 'Invalid request_id format' });
      throw this.unavailable(requestId, fields, error);
    }
    if (entry === null) {
      await this.store.releaseDelivery(requestId);
      this.logger.warn(`cursor-runner callback for unknown request ${requestId} (expired, delivered or never stored)`);
      return { received: true, message: 'Request not found' };
    }
    if (entry.kind === 'api') {
      await this.store.completeDelivery(requestId);
      this.logger.log(`cursor-runner result ${requestId} kept for its API client`);
      return { received: true, request_id: requestId };
    }
    // Side by side: a Redis that starts hanging here costs one command budget before the 503, not two.
    const [answer] = await Promise.all([this.queueDelivery(requestId, entry.request, fields), this.keepForLookup(requestId, fields)]);
    return answer;
  }

  /** Stores the delivery in the queue, once per request id; the claim now belongs to the job. */
  private async queueDelivery(requestId: string, request: PendingRequest, fields: Record<string, unknown>): Promise<CallbackAnswer> {
    const job: ResultDeliveryJob = { requestId, request, result: normalizeCallbackResult(fields) };
    let added: AddResult;
    try {
      added = await this.deliveries.add(job, { once: { id: resultDeliveryOnceId(requestId), ttlSeconds: RESULT_ONCE_TTL_SECONDS } });
    } catch (error) {
      if (error instanceof QueueUnavailableError) throw this.unavailable(requestId, fields, error);
      throw error;
    }
    if (added.status === 'duplicate') {
      // Its claim had expired while the first delivery waited for a worker: that job ends this claim too.
      this.logger.warn(`Duplicate cursor-runner callback ${requestId} while its delivery is queued; ignored`);
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

  /** Ends the claim and logs the callback for a replay: the store cannot take it now. */
  private unavailable(requestId: string, fields: Record<string, unknown>, error: unknown): Error {
    // Not awaited: with Redis hanging it would wait out a second command budget before the 503.
    // Sent after the claim on the same connection, it undoes a claim that lands late; a failure
    // leaves the claim to expire.
    this.store.releaseDelivery(requestId).catch(() => undefined);
    this.logger.error(
      {
        err: error,
        requestId,
        callback: Object.fromEntries(Object.entries(fields).map(([name, value]) => [name, clip(value)])),
      },
      `Pending request store unavailable: cursor-runner result ${requestId} cannot be delivered now and ` +
        'cursor-runner does not retry; the callback is logged here for a replay',
    );
    return new ServiceUnavailableException({
      received: false,
      error: 'Pending request store unavailable',
      request_id: requestId,
    });
  }
}

/** The result as cursor-runner sent it: the {@link KEPT_RESULT_FIELDS} it had, values untouched. */
function keptResultOf(fields: Record<string, unknown>): KeptResult {
  const result: Record<string, unknown> = {};
  for (const name of KEPT_RESULT_FIELDS) {
    if (Object.prototype.hasOwnProperty.call(fields, name)) result[name] = fields[name];
  }
  return { result, receivedAt: new Date().toISOString() };
}
