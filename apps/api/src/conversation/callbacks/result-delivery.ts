import { Injectable, Logger } from '@nestjs/common';
import type { TelegramBotHandle } from '../../telegram';
import { ChatReplies, plainMessage, type ChatMessage, type ReplyMedium } from '../chat-replies';
import type { PendingRequest } from '../pending-requests/pending-request-store';
import { BotLookup, DEBUG_SETTING, SettingSwitches } from '../ports';
import { FORMAT_FAILURE_TEXT, processingErrorText } from '../texts';
import { BotUnavailableError } from './delivery-policy';
import { buildResultMessage, type CallbackResult } from './result-message';

/**
 * One try at sending a cursor-runner result to the Telegram user who asked: through the bot the
 * message came through; in voice when the user spoke and `allow_audio_output` is on (the plain
 * rendering is spoken), else as Telegram HTML whose `<pre><code>` blocks render — and as plain text
 * when Telegram refuses that HTML ({@link ChatReplies}). Rejects when nothing reached the user;
 * retrying is {@link DeliverResult}'s decision.
 */
@Injectable()
export class SendResult {
  private readonly logger = new Logger('CallbackDelivery');

  constructor(
    private readonly bots: BotLookup,
    private readonly replies: ChatReplies,
    private readonly settings: SettingSwitches,
  ) {}

  /**
   * Sends the result once; resolves with how it went out.
   * @throws BotUnavailableError when the request's bot is gone or deactivated (no other bot
   *   answers in its place: the user talked to that one), or the Telegram error of the last send
   */
  async send(requestId: string, pending: PendingRequest, result: CallbackResult): Promise<ReplyMedium> {
    const bot = await this.botOf(pending);
    const message = this.messageOf(requestId, result, await this.settings.isEnabled(DEBUG_SETTING));
    return this.replies.reply(bot, pending.chatId, message, {
      spoken: pending.originalWasAudio,
      replyToMessageId: pending.messageId,
    });
  }

  /**
   * Tells the user their result could not be delivered, when a bot can still reach the chat. Never
   * rejects: a failure here is logged, the caller has already logged the cause.
   */
  async notifyFailure(requestId: string, pending: PendingRequest, cause: Error): Promise<void> {
    try {
      const bot = await this.botOf(pending);
      await this.replies.say(bot, pending.chatId, processingErrorText(cause.message), pending.messageId);
    } catch (error) {
      this.logger.warn(`Could not tell chat ${pending.chatId} that result ${requestId} failed: ${(error as Error).message}`);
    }
  }

  private async botOf(pending: PendingRequest): Promise<TelegramBotHandle> {
    const bot = await this.bots.findById(pending.botId);
    if (!bot) throw new BotUnavailableError(pending.botId);
    return bot;
  }

  private messageOf(requestId: string, result: CallbackResult, debug: boolean): ChatMessage {
    try {
      return buildResultMessage(result, debug);
    } catch (error) {
      this.logger.error({ err: error, requestId }, `Could not format cursor-runner result ${requestId}`);
      return plainMessage(FORMAT_FAILURE_TEXT);
    }
  }
}
