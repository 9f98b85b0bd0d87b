import { defineQueue } from '@app/queue';
import type { CallbackResult } from './callbacks/result-message';
import type { PendingRequest } from './pending-requests/pending-request-store';

/**
 * One cursor-runner result to deliver: everything the delivery needs, so it does not depend on the
 * pending request still being there when a worker gets to it (its TTL may pass while the job waits).
 */
export interface ResultDeliveryJob {
  requestId: string;
  /** The pending request as the callback found it: chat, message, bot, whether the user spoke. */
  request: PendingRequest;
  result: CallbackResult;
}

/**
 * Results accepted by `POST /cursor-runner/callback`, queued before the callback is answered: a
 * process that dies leaves them to the next one. A job carries a whole output (up to
 * `CALLBACK_BODY_LIMIT_BYTES`), so a delivered one is removed at once and only the last 100
 * failed ones are kept, for a day, to be looked at or retried from the queue dashboard.
 *
 * Telegram's failures are retried by the delivery itself (`CALLBACK_DELIVERY_ATTEMPTS`, waiting in
 * the queue between tries); the queue's own attempts only cover a try that could not be recorded
 * (Redis failing mid-delivery).
 */
export const RESULT_DELIVERIES_QUEUE = defineQueue<ResultDeliveryJob>({
  name: 'result-deliveries',
  description: 'cursor-runner results to send to Telegram, queued before the callback is answered',
  attempts: 3,
  retention: { completed: { count: 0 }, failed: { count: 100, age: 86_400 } },
});

/**
 * What makes two callbacks the same result: its request id. The queue library turns it into the
 * Redis key `<QUEUE_PREFIX>:result-deliveries:once:cursor-runner:result:<request id>`.
 */
export function resultDeliveryOnceId(requestId: string): string {
  return `cursor-runner:result:${requestId}`;
}
