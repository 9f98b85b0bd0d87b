import { Injectable, Logger } from '@nestjs/common';
import type { Job } from '@app/queue';
import { CursorRunnerClient, CursorRunnerError } from '../../adapters/cursor-runner';
import type { TelegramBotHandle } from '../../telegram';
import { ChatReplies } from '../chat-replies';
import { PendingRequestStore } from '../pending-requests/pending-request-store';
import { DEBUG_SETTING, SettingSwitches } from '../ports';
import { newTelegramRequestId } from '../request-ids';
import { forwardErrorText, PROCESSING_TEXT } from '../texts';
import { isLocalCommand } from './answer-locally.use-case';

/** What cursor-runner is told besides the prompt: the repositories root, branch main. */
const FORWARD_REPOSITORY = '';
const FORWARD_BRANCH = 'main';

/** A message to forward: what was said, where, and whether it was spoken. */
export interface Forwardable {
  chatId: number;
  messageId: number | undefined;
  text: string;
  spoken: boolean;
}

/** The part of a queued job a forward uses: steps whose outcome a retry gets back instead of redoing. */
export type JobSteps = Pick<Job<unknown>, 'step'>;

/** What forwarding did, saved with the job so a retry never forwards the same message twice. */
type ForwardOutcome = { forwarded: true; requestId: string } | { forwarded: false; requestId: string; error: string };

/**
 * Sends a user's text to cursor-runner as an async run (docs/cursor-runner.md, "Async runs"): the
 * pending request is stored first, so a fast callback always finds it, then cursor-runner is
 * called; its result comes back later through the callback. When cursor-runner refuses or cannot
 * be reached the pending request is dropped and the user is told why.
 */
@Injectable()
export class ForwardMessage {
  private readonly logger = new Logger('TelegramUpdates');

  constructor(
    private readonly cursorRunner: CursorRunnerClient,
    private readonly pending: PendingRequestStore,
    private readonly replies: ChatReplies,
    private readonly settings: SettingSwitches,
  ) {}

  /**
   * Forwards `message` once over all attempts of `job`. `true` when handled (forwarded, or the user
   * was told forwarding failed); `false` when the message is not for cursor-runner.
   */
  async forward(bot: TelegramBotHandle, job: JobSteps, message: Forwardable): Promise<boolean> {
    if (message.text.trim() === '' || isLocalCommand(message.text)) return false;
    const outcome = await job.step('forward', () => this.forwardOnce(bot, message));
    if (outcome.forwarded) {
      if (await this.settings.isEnabled(DEBUG_SETTING)) {
        await job.step('processing-notice', () => this.replies.notify(bot, message.chatId, PROCESSING_TEXT, message.messageId));
      }
      return true;
    }
    await this.replies.say(bot, message.chatId, forwardErrorText(outcome.error), message.messageId);
    return true;
  }

  /** Stores the pending request, then calls cursor-runner: a fast callback always finds it. */
  private async forwardOnce(bot: TelegramBotHandle, message: Forwardable): Promise<ForwardOutcome> {
    const requestId = newTelegramRequestId();
    await this.pending.store(requestId, {
      chatId: message.chatId,
      messageId: message.messageId ?? 0,
      prompt: message.text,
      originalWasAudio: message.spoken,
      createdAt: new Date().toISOString(),
      botId: bot.id,
    });
    let refusal: string;
    try {
      const answer = await this.cursorRunner.executeAsync({
        id: requestId,
        repository: FORWARD_REPOSITORY,
        branchName: FORWARD_BRANCH,
        prompt: message.text,
      });
      if (answer.success !== false) {
        this.logger.log(
          `Forwarded to cursor-runner (requestId: ${requestId}, repository: (root), prompt: ${JSON.stringify(message.text.slice(0, 50))})`,
        );
        return { forwarded: true, requestId };
      }
      refusal = typeof answer.error === 'string' && answer.error ? answer.error : 'cursor-runner refused the request';
    } catch (error) {
      await this.pending.delete(requestId);
      if (!(error instanceof CursorRunnerError)) throw error;
      refusal = error.message;
    }
    await this.pending.delete(requestId);
    this.logger.warn(`Failed to send Telegram message to cursor-runner (requestId: ${requestId}): ${refusal}`);
    return { forwarded: false, requestId, error: refusal };
  }
}
