import { BadRequestException, Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
import {
  InvalidRequestIdError,
  KEPT_RESULT_FIELDS,
  PendingRequestStore,
  type KeptResult,
  type PendingEntry,
} from '../pending-requests/pending-request-store';
import { readCallbackParams } from './callback-params';
import { DeliverResult } from './deliver-result.use-case';
import { normalizeCallbackResult } from './result-message';

/**
 * How long a delivery claim lasts, in seconds: longer than any delivery with its retries takes
 * (three tries of speech synthesis plus two Telegram calls each, with their waits). It matters only
 * when a process dies mid-delivery: a replay is refused as a duplicate for at most this long.
 */
export const DELIVERY_CLAIM_TTL_SECONDS = 900;

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
 * "Callback contract"). The answer comes as soon as the pending request is read and claimed; the result
 * reaches Telegram afterwards ({@link DeliverResult}).
 *
 * - 400 `{error: "request_id is required"}` / `{error: "Invalid request_id format"}`.
 * - 200 `{received: true, message: "Request not found"}`: no pending request (expired, already
 *   delivered, never stored).
 * - 200 `{received: true, request_id, message: "Already being delivered"}`: a duplicate of a
 *   callback whose delivery is under way; it sends nothing.
 * - 503 `{received: false, error: "Pending request store unavailable", request_id}`: Redis cannot
 *   answer. Not "not found": cursor-runner logs the non-2xx as an error, and this service logs the
 *   callback's content at error level, so the one attempt cursor-runner makes is seen and can be
 *   replayed instead of vanishing.
 * - 200 `{received: true, request_id}`: accepted; delivery follows.
 */
@Injectable()
export class ReceiveCallback {
  private readonly logger = new Logger('CursorRunnerCallback');

  constructor(
    private readonly store: PendingRequestStore,
    private readonly deliveries: DeliverResult,
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
    await this.keepForLookup(requestId, fields);
    await this.deliveries.submit(requestId, entry.request, normalizeCallbackResult(fields));
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
