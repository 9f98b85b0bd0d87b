import { Injectable, Logger } from '@nestjs/common';
import { CursorRunnerClient, CursorRunnerError } from '../../adapters/cursor-runner';
import type { TelegramBotHandle } from '../../telegram';
import { ChatReplies } from '../chat-replies';
import { NEW_CONVERSATION_TEXT, newConversationErrorText } from '../texts';
import type { JobSteps } from './forward-message.use-case';

/** `/new`, alone or addressed to a bot (`/new@my_bot`), before any words: never forwarded. */
const NEW_COMMAND = /^\/new(?:@[A-Za-z0-9_]+)?(?:\s|$)/i;

/** Whether `text` is the /new command. */
export function isNewConversationCommand(text: string): boolean {
  return NEW_COMMAND.test(text.trim());
}

/**
 * `/new`: cursor-runner starts a fresh conversation in its telegram queue (`POST
 * /cursor/conversation/new`), so the next message does not continue the previous context. The
 * user reads that it was started, or why not.
 */
@Injectable()
export class StartConversation {
  private readonly logger = new Logger('TelegramUpdates');

  constructor(
    private readonly cursorRunner: CursorRunnerClient,
    private readonly replies: ChatReplies,
  ) {}

  /** Asks cursor-runner once over all attempts of `job`, then answers the user, once too. */
  async start(bot: TelegramBotHandle, job: JobSteps, chatId: number, messageId: number | undefined): Promise<void> {
    const outcome = await job.step('new-conversation', () => this.startOnce(chatId));
    const text = outcome.started ? NEW_CONVERSATION_TEXT : newConversationErrorText(outcome.error);
    await job.step('new-conversation-reply', () => this.replies.say(bot, chatId, text, messageId));
  }

  private async startOnce(chatId: number): Promise<{ started: true } | { started: false; error: string }> {
    try {
      const answer = await this.cursorRunner.newConversation('telegram');
      if (answer.success === true) {
        this.logger.log(`Started a new cursor-runner conversation for chat ${chatId}: ${String(answer.conversationId)}`);
        return { started: true };
      }
      return { started: false, error: typeof answer.error === 'string' ? answer.error : 'cursor-runner did not start one' };
    } catch (error) {
      if (!(error instanceof CursorRunnerError)) throw error;
      this.logger.warn(`cursor-runner could not start a new conversation for chat ${chatId}: ${error.message}`);
      return { started: false, error: error.message };
    }
  }
}
