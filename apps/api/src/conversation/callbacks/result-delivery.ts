import { Injectable, Logger } from '@nestjs/common';
import type { TelegramBotHandle } from '../../telegram';
import { ChatReplies, plainMessage, type ReplyMedium } from '../chat-replies';
import type { PendingRequest } from '../pending-requests/pending-request-store';
import { BotLookup, DEBUG_SETTING, SettingSwitches } from '../ports';
import { FORMAT_FAILURE_TEXT, noResultText, processingErrorText, resultNotReceivedText } from '../texts';
import { BotUnavailableError } from './delivery-policy';
import { buildResultMessage, cleanTerminalText, type CallbackResult, type ResultMessage } from './result-message';

/** How a result's message went out. */
export interface SentResult {
  medium: ReplyMedium;
  /** The message showed only the start of the output: the whole of it follows as a file. */
  outputCut: boolean;
}

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
   * Sends the result's message once; resolves with how it went out and whether it showed only the
   * start of the output (then {@link attachWholeOutput} follows, as a step of its own: the message
   * is never sent again because the file failed).
   * @throws BotUnavailableError when the request's bot is gone or deactivated (no other bot
   *   answers in its place: the user talked to that one), or the Telegram error of the last send
   */
  async send(requestId: string, pending: PendingRequest, result: CallbackResult): Promise<SentResult> {
    const bot = await this.botOf(pending);
    const message = this.messageOf(requestId, result, await this.settings.isEnabled(DEBUG_SETTING));
    const medium = await this.replies.reply(bot, pending.chatId, message, {
      spoken: pending.originalWasAudio,
      replyToMessageId: pending.messageId,
    });
    return { medium, outputCut: message.outputCut };
  }

  /**
   * The whole output as `<request id>.txt`, after a message that showed only its start. The message
   * has reached the user by then, so a failure here is not retried (that would send the message
   * twice): it is logged at error level with the request id. Never rejects.
   */
  async attachWholeOutput(requestId: string, pending: PendingRequest, result: CallbackResult): Promise<void> {
    try {
      const bot = await this.botOf(pending);
      await this.replies.attach(bot, pending.chatId, `${requestId}.txt`, cleanTerminalText(result.output), pending.messageId);
    } catch (error) {
      this.logger.error(
        { err: error, requestId },
        `The whole output of ${requestId} could not be sent to chat ${pending.chatId} as a file; the user has its start`,
      );
    }
  }

  /**
   * Tells the user their result could not be delivered, when a bot can still reach the chat. Never
   * rejects: a failure here is logged, the caller has already logged the cause.
   */
  async notifyFailure(requestId: string, pending: PendingRequest, cause: Error): Promise<void> {
    await this.tell(requestId, pending, processingErrorText(cause.message));
  }

  /** Tells the user their result was refused on arrival (`reason`); never rejects, as {@link notifyFailure}. */
  async notifyNotReceived(requestId: string, pending: PendingRequest, reason: string): Promise<void> {
    await this.tell(requestId, pending, resultNotReceivedText(reason));
  }

  /**
   * Tells the user no result came for their request by its deadline, `minutes` after it was
   * forwarded; never rejects, as {@link notifyFailure}.
   */
  async notifyNoResult(requestId: string, pending: PendingRequest, minutes: number | undefined): Promise<void> {
    await this.tell(requestId, pending, noResultText(minutes));
  }

  private async tell(requestId: string, pending: PendingRequest, text: string): Promise<void> {
    try {
      const bot = await this.botOf(pending);
      await this.replies.say(bot, pending.chatId, text, pending.messageId);
    } catch (error) {
      this.logger.warn(`Could not tell chat ${pending.chatId} that result ${requestId} failed: ${(error as Error).message}`);
    }
  }

  private async botOf(pending: PendingRequest): Promise<TelegramBotHandle> {
    const bot = await this.bots.findById(pending.botId);
    if (!bot) throw new BotUnavailableError(pending.botId);
    return bot;
  }

  private messageOf(requestId: string, result: CallbackResult, debug: boolean): ResultMessage {
    try {
      return buildResultMessage(result, debug);
    } catch (error) {
      this.logger.error({ err: error, requestId }, `Could not format cursor-runner result ${requestId}`);
      return { ...plainMessage(FORMAT_FAILURE_TEXT), outputCut: false };
    }
  }
}
