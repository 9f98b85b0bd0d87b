import { Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
import { errorBody, RequestValidationException } from '@app/http';
import { InjectQueue, JobQueue, QueueUnavailableError, type AddResult } from '@app/queue';
import type { TelegramBotHandle } from '../../telegram';
import { newTelegramRequestId } from '../request-ids';
import { isTelegramUpdate, kindOf } from '../telegram-update';
import {
  TELEGRAM_UPDATES_QUEUE,
  UPDATE_DEDUPLICATION_TTL_SECONDS,
  updateDeduplicationId,
  type TelegramUpdateJob,
} from '../telegram-updates.queue';

/**
 * Takes a webhook delivery: checks it is an Update and queues it once per bot and `update_id`.
 * It never processes anything, so the webhook's answer does not depend on processing.
 */
@Injectable()
export class AcceptUpdate {
  private readonly logger = new Logger('TelegramWebhook');

  constructor(@InjectQueue(TELEGRAM_UPDATES_QUEUE) private readonly queue: JobQueue<TelegramUpdateJob>) {}

  /**
   * Queues `body` for `bot` with the request id it will be forwarded under (one id per update from
   * its first attempt on); a delivery of an update already queued is dropped (Telegram redelivers).
   * @throws RequestValidationException (400) when `body` is not an Update
   * @throws ServiceUnavailableException (503) when the queue cannot store it: Telegram then delivers
   *   it again later, so nothing is lost
   */
  async accept(bot: TelegramBotHandle, body: unknown): Promise<AddResult> {
    if (!isTelegramUpdate(body)) {
      throw new RequestValidationException([
        { field: 'update_id', message: 'the body must be a Telegram Update: a JSON object with an integer update_id' },
      ]);
    }
    let result: AddResult;
    try {
      result = await this.queue.add(
        { botId: bot.id, update: body, requestId: newTelegramRequestId() },
        {
          once: {
            id: updateDeduplicationId(bot.client.tokenDigest, body.update_id),
            ttlSeconds: UPDATE_DEDUPLICATION_TTL_SECONDS,
          },
        },
      );
    } catch (error) {
      if (!(error instanceof QueueUnavailableError)) throw error;
      this.logger.error(`Could not queue Telegram update ${body.update_id} (bot ${bot.name}): ${error.message}`);
      throw new ServiceUnavailableException(
        errorBody('The update could not be queued; Telegram will deliver it again.', 'Service Unavailable'),
      );
    }
    if (result.status === 'duplicate') {
      this.logger.log(`Ignored a repeated delivery of Telegram update ${body.update_id} (bot ${bot.name})`);
    } else {
      this.logger.log(`Received Telegram update ${body.update_id} (${kindOf(body)}, bot ${bot.name}), queued as job ${result.jobId}`);
    }
    return result;
  }
}
