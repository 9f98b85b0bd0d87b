import { Injectable, Logger } from '@nestjs/common';
import type { Job } from '@app/queue';
import {
  CursorRunnerClient,
  CursorRunnerConnectionError,
  CursorRunnerError,
  CursorRunnerHttpError,
  CursorRunnerInvalidResponseError,
  CursorRunnerTimeoutError,
} from '../../adapters/cursor-runner';
import type { TelegramBotHandle } from '../../telegram';
import { ChatReplies } from '../chat-replies';
import { PendingRequestStore } from '../pending-requests/pending-request-store';
import { DEBUG_SETTING, SettingSwitches } from '../ports';
import { newTelegramRequestId } from '../request-ids';
import type { TelegramUpdateJob } from '../telegram-updates.queue';
import { forwardErrorText, FORWARD_INTERRUPTED_TEXT, PROCESSING_TEXT } from '../texts';
import { isLocalCommand } from './answer-locally.use-case';

/** What cursor-runner is told besides the prompt: the repositories root, branch main. */
const FORWARD_REPOSITORY = '';
const FORWARD_BRANCH = 'main';

/** The effect `Job.begin` guards: the one call to cursor-runner of an update. */
const FORWARD_EFFECT = 'forward';

/**
 * Connection failures that prove cursor-runner never got the request (nothing was sent); any other
 * failure after the request left (a reset, a timeout) leaves it unknown.
 */
const NOTHING_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Statuses a proxy in front of cursor-runner answers when cursor-runner broke off or did not answer
 * in time (502 Bad Gateway, 504 Gateway Timeout): the request may have reached it. cursor-runner
 * itself answers its refusals with 4xx or 500 and a JSON error (docs/cursor-runner.md).
 */
const GATEWAY_UNKNOWN_STATUSES = new Set([502, 504]);

/** A message to forward: what was said, where, and whether it was spoken. */
export interface Forwardable {
  chatId: number;
  messageId: number | undefined;
  text: string;
  spoken: boolean;
}

/** The part of a queued job a use case uses: steps whose outcome a retry gets back instead of redoing. */
export type JobSteps = Pick<Job<unknown>, 'step'>;

/** The part of a queued update a forward uses: its request id, its steps and the at-most-once mark. */
export type ForwardJob = Pick<Job<Pick<TelegramUpdateJob, 'requestId'>>, 'data' | 'step' | 'begin'>;

/**
 * What forwarding did, saved with the job. `unknown`: cursor-runner may or may not have the
 * request (an earlier attempt was cut short after it began the call, or the call broke after the
 * request left); it is never sent again and the pending request is kept for a late callback.
 * `answered`: an earlier attempt was cut short after it began the call, and the result has come
 * since (cursor-runner had the request): there is nothing to tell the chat.
 */
type ForwardOutcome =
  | { status: 'forwarded'; requestId: string }
  | { status: 'answered'; requestId: string }
  | { status: 'refused'; requestId: string; error: string }
  | { status: 'unknown'; requestId: string; reason: string };

/**
 * Sends a user's text to cursor-runner as an async run (docs/cursor-runner.md, "Async runs"), at
 * most once per update whatever happens to the process (docs/operations.md, "Forwarding at most
 * once"): the request id comes with the job, the pending request is stored (so a fast callback
 * always finds it), the call is marked begun in the job (atomically, before it is made), then
 * cursor-runner is called. An attempt that finds the mark without a saved outcome does not call
 * again: it tells the chat, once, that the request may have been interrupted.
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
   * Forwards `message` at most once over all attempts of `job`. `true` when handled (forwarded,
   * or the user was told it failed or may have been interrupted); `false` when the message is not
   * for cursor-runner.
   */
  async forward(bot: TelegramBotHandle, job: ForwardJob, message: Forwardable): Promise<boolean> {
    if (message.text.trim() === '' || isLocalCommand(message.text)) return false;
    const requestId = job.data.requestId ?? (await job.step('request-id', async () => newTelegramRequestId()));
    const outcome = await job.step(FORWARD_EFFECT, () => this.forwardOnce(bot, job, requestId, message));
    switch (outcome.status) {
      case 'answered':
        return true;
      case 'forwarded':
        if (await this.settings.isEnabled(DEBUG_SETTING)) {
          await job.step('processing-notice', () => this.replies.notify(bot, message.chatId, PROCESSING_TEXT, message.messageId));
        }
        return true;
      case 'refused':
        await job.step('refused-notice', () => this.replies.say(bot, message.chatId, forwardErrorText(outcome.error), message.messageId));
        return true;
      case 'unknown':
        await job.step('interrupted-notice', () =>
          this.replies.say(bot, message.chatId, FORWARD_INTERRUPTED_TEXT, message.messageId),
        );
        return true;
    }
  }

  /**
   * Stores the pending request (again, on a later attempt: the same id and content), marks the
   * call begun, then calls cursor-runner. Everything before the mark may be redone; nothing after.
   */
  private async forwardOnce(bot: TelegramBotHandle, job: ForwardJob, requestId: string, message: Forwardable): Promise<ForwardOutcome> {
    await this.pending.store(requestId, {
      chatId: message.chatId,
      messageId: message.messageId ?? 0,
      prompt: message.text,
      originalWasAudio: message.spoken,
      createdAt: new Date().toISOString(),
      botId: bot.id,
    });
    if (!(await job.begin(FORWARD_EFFECT))) {
      if (await this.resultCame(requestId)) {
        this.logger.log(`Request ${requestId}: an earlier attempt forwarded it and its result has come; nothing to tell the chat`);
        return { status: 'answered', requestId };
      }
      const reason = 'an earlier attempt began forwarding it and never recorded how that ended';
      this.logger.warn(`Not forwarding request ${requestId} to cursor-runner again: ${reason}; the chat is told`);
      return { status: 'unknown', requestId, reason };
    }
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
        return { status: 'forwarded', requestId };
      }
      refusal = typeof answer.error === 'string' && answer.error ? answer.error : 'cursor-runner refused the request';
    } catch (error) {
      if (!(error instanceof CursorRunnerError)) throw error;
      if (!nothingSent(error)) {
        this.logger.warn(`cursor-runner may have request ${requestId} (${error.message}); not forwarding it again, the chat is told`);
        return { status: 'unknown', requestId, reason: error.message };
      }
      refusal = error.message;
    }
    await this.pending.delete(requestId);
    this.logger.warn(`Failed to send Telegram message to cursor-runner (requestId: ${requestId}): ${refusal}`);
    return { status: 'refused', requestId, error: refusal };
  }

  /**
   * Whether a callback of `requestId` was taken: its result is kept for lookup or its delivery is
   * under way. A delivery that has ended deleted the pending request this attempt stored again, so it is
   * deleted once more: left, it said for an hour that the request awaited a result. A store that
   * cannot answer reads as no result (the chat is then told the request may have been interrupted).
   */
  private async resultCame(requestId: string): Promise<boolean> {
    try {
      if (!(await this.pending.resultCame(requestId))) return false;
      if (!(await this.pending.deliveryUnderWay(requestId))) await this.pending.delete(requestId);
      return true;
    } catch (error) {
      this.logger.warn(`Could not tell whether request ${requestId}'s result has come: ${(error as Error).message}`);
      return false;
    }
  }
}

/**
 * Whether `error` proves cursor-runner is not running the request: it answered with an error
 * status, or no connection was made. A timeout, a broken connection or a 2xx without a readable
 * body prove nothing.
 */
function nothingSent(error: CursorRunnerError): boolean {
  if (error instanceof CursorRunnerTimeoutError || error instanceof CursorRunnerInvalidResponseError) return false;
  if (error instanceof CursorRunnerConnectionError) return error.code !== undefined && NOTHING_SENT_CODES.has(error.code);
  if (error instanceof CursorRunnerHttpError) return !GATEWAY_UNKNOWN_STATUSES.has(error.status);
  return true;
}
