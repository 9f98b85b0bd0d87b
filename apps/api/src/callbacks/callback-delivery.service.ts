import { Injectable, Logger } from '@nestjs/common';
import { SettingsService } from '../settings';
import { TelegramBots, TelegramReplies, type ReplyMedium, type TelegramBotHandle } from '../telegram';
import { buildCallbackMessage, escapeTelegramHtml, type CallbackMessage, type CallbackResult } from './callback-message';
import { BotUnavailableError, isParseError } from './delivery-policy';
import type { PendingRequest } from './pending-request-store';

/** The setting that adds the run's figures, output block and warnings to the message (§5.2). */
export const DEBUG_SETTING = 'debug';

/** Sent instead of the result when building the message fails (domain.md §5.3 step 3). */
export const FORMAT_FAILURE_TEXT = '⚠️ Command completed but failed to format response. Check logs for details.';

/** Sent when the result could not be delivered but the chat may still be reachable (§2.7 step 6). */
export function processingErrorText(reason: string): string {
  return `❌ Error processing cursor command result: ${reason}`;
}

/**
 * One try at sending a cursor-runner result to the Telegram user who asked (domain.md §5.3, with
 * the formatting fixes of §12.8/§12.9): through the bot the message came through; in voice when
 * the user spoke and `allow_audio_output` is on (the plain rendering is spoken), else as Telegram
 * HTML whose `<pre><code>` blocks render — and as plain text without a parse mode when Telegram
 * refuses that HTML. Rejects when nothing reached the user; retrying is the caller's decision.
 */
@Injectable()
export class CallbackDelivery {
  private readonly logger = new Logger('CallbackDelivery');

  constructor(
    private readonly bots: TelegramBots,
    private readonly replies: TelegramReplies,
    private readonly settings: SettingsService,
  ) {}

  /**
   * Sends the result once; resolves with how it went out.
   * @throws BotUnavailableError when the request's bot is gone or deactivated (no other bot
   *   answers in its place: the user talked to that one), or the Telegram error of the last send
   */
  async send(requestId: string, pending: PendingRequest, result: CallbackResult): Promise<ReplyMedium> {
    const bot = await this.botOf(pending);
    const message = this.messageOf(requestId, result, await this.settings.isEnabled(DEBUG_SETTING));
    try {
      return await this.replies.reply(bot, pending.chatId, message.html, {
        spoken: pending.originalWasAudio,
        speech: message.plain,
        replyToMessageId: pending.messageId,
        text: { parseMode: 'HTML', rendered: true },
      });
    } catch (error) {
      if (!isParseError(error)) throw error;
      this.logger.warn(`Telegram refused the HTML of result ${requestId}, sending it as plain text: ${(error as Error).message}`);
      await bot.client.sendMessage(pending.chatId, message.plain, { parseMode: null, replyToMessageId: pending.messageId });
      return 'text';
    }
  }

  /**
   * Tells the user their result could not be delivered (§2.7 step 6), when a bot can still reach
   * the chat. Never rejects: a failure here is logged, the caller has already logged the cause.
   */
  async notifyFailure(requestId: string, pending: PendingRequest, cause: Error): Promise<void> {
    try {
      const bot = await this.botOf(pending);
      await bot.client.sendMessage(pending.chatId, processingErrorText(cause.message), {
        replyToMessageId: pending.messageId,
      });
    } catch (error) {
      this.logger.warn(`Could not tell chat ${pending.chatId} that result ${requestId} failed: ${(error as Error).message}`);
    }
  }

  private async botOf(pending: PendingRequest): Promise<TelegramBotHandle> {
    const bot = await this.bots.findById(pending.botId);
    if (!bot) throw new BotUnavailableError(pending.botId);
    return bot;
  }

  private messageOf(requestId: string, result: CallbackResult, debug: boolean): CallbackMessage {
    try {
      return buildCallbackMessage(result, debug);
    } catch (error) {
      this.logger.error({ err: error, requestId }, `Could not format cursor-runner result ${requestId}`);
      return { html: escapeTelegramHtml(FORMAT_FAILURE_TEXT), plain: FORMAT_FAILURE_TEXT };
    }
  }
}
