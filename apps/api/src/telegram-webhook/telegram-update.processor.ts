import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectQueue, JobQueue, PermanentJobError, type Job } from '@app/queue';
import { PendingRequestStore } from '../callbacks/pending-request-store';
import { CursorRunnerClient } from '../cursor-runner/cursor-runner.client';
import { CursorRunnerError } from '../cursor-runner/cursor-runner.errors';
import { ElevenLabsError, SpeechToText } from '../elevenlabs';
import { SettingsService } from '../settings';
import {
  TelegramApiError,
  TelegramBots,
  TelegramError,
  TelegramFiles,
  TelegramReplies,
  type TelegramBotHandle,
} from '../telegram';
import {
  audioOf,
  chatInfoOf,
  failureText,
  fieldsOf,
  forwardErrorText,
  isLocalCommand,
  kindOf,
  localReplyTo,
  newTelegramRequestId,
  NO_TRANSCRIPT_TEXT,
  PROCESSING_TEXT,
  SPEECH_TO_TEXT_OFF_TEXT,
  TRANSCRIBING_TEXT,
  transcriptionErrorText,
  type AudioAttachment,
  type IncomingCallbackQuery,
  type IncomingMessage,
  type TelegramUpdate,
  type UpdateKind,
} from './telegram-update';
import { TELEGRAM_UPDATES_QUEUE, type TelegramUpdateJob } from './telegram-updates.queue';

/** The setting that makes the bot say what it is doing (domain.md §8.1). */
export const DEBUG_SETTING = 'debug';

/** What cursor-runner is told besides the prompt: the repositories root, branch main (domain.md §3.4). */
const FORWARD_REPOSITORY = '';
const FORWARD_BRANCH = 'main';

/** A message to forward: what was said, where, and whether it was spoken. */
interface Forwardable {
  chatId: number;
  messageId: number | undefined;
  text: string;
  spoken: boolean;
}

/** What forwarding did, saved with the job so a retry never forwards the same message twice. */
type ForwardOutcome = { forwarded: true; requestId: string } | { forwarded: false; requestId: string; error: string };

/** Telegram refusing the request itself (chat not found, bot blocked, bad token): retrying cannot help. */
function isPermanent(error: unknown): boolean {
  return error instanceof TelegramApiError && error.status >= 400 && error.status < 500 && error.status !== 429;
}

/**
 * Processes queued webhook updates (the original's TelegramMessageJob, domain.md §3): messages and
 * edited messages (audio transcribed, local commands answered here, everything else forwarded to
 * cursor-runner, whose result comes back through the callback), callback queries, and nothing else.
 * Every answer goes through the bot the update came through.
 *
 * Retries: a failed attempt is retried (3 attempts, exponential backoff). Each effect a retry must
 * not repeat is a job step whose outcome is saved with the job: the forward to cursor-runner (so a
 * message is never run twice), the debug notices and the callback query's answer. The user is told
 * about a failure once, when the last attempt fails, never before an answer that a retry then sends.
 */
@Injectable()
export class TelegramUpdateProcessor implements OnApplicationBootstrap {
  private readonly logger = new Logger('TelegramUpdates');

  constructor(
    @InjectQueue(TELEGRAM_UPDATES_QUEUE) private readonly queue: JobQueue<TelegramUpdateJob>,
    private readonly bots: TelegramBots,
    private readonly files: TelegramFiles,
    private readonly replies: TelegramReplies,
    private readonly speechToText: SpeechToText,
    private readonly cursorRunner: CursorRunnerClient,
    private readonly pending: PendingRequestStore,
    private readonly settings: SettingsService,
  ) {}

  onApplicationBootstrap(): void {
    this.queue.process((job) => this.process(job));
  }

  /** One attempt at one update. Rejects to have it retried. */
  async process(job: Job<TelegramUpdateJob>): Promise<void> {
    const { update, botId } = job.data;
    const bot = await this.bots.findById(botId);
    if (!bot) {
      this.logger.warn(`Dropped Telegram update ${update.update_id}: bot ${botId} is gone or inactive`);
      return;
    }
    const kind = kindOf(update);
    try {
      await this.dispatch(bot, update, kind, job);
    } catch (error) {
      const permanent = isPermanent(error);
      if (job.isFinalAttempt || permanent) await this.reportFailure(bot, update, kind, error as Error);
      throw permanent ? new PermanentJobError((error as Error).message, { cause: error }) : error;
    }
  }

  private async dispatch(bot: TelegramBotHandle, update: TelegramUpdate, kind: UpdateKind, job: Job<TelegramUpdateJob>) {
    switch (kind) {
      case 'message':
        return this.handleMessage(bot, update.message!, job);
      case 'edited_message':
        return this.handleMessage(bot, update.edited_message!, job);
      case 'callback_query':
        return this.handleCallbackQuery(bot, update.callback_query!, job);
      default:
        this.logger.log(`Unhandled update type (update ${update.update_id}: ${fieldsOf(update).join(', ') || 'no fields'})`);
    }
  }

  /** domain.md §3.3. */
  private async handleMessage(bot: TelegramBotHandle, message: IncomingMessage, job: Job<TelegramUpdateJob>): Promise<void> {
    const chatId = message.chat?.id;
    if (!Number.isSafeInteger(chatId)) {
      this.logger.warn('Ignored a message without a chat id');
      return;
    }
    const chat = chatId as number;
    const messageId = message.message_id;
    const audio = audioOf(message);
    let text = typeof message.text === 'string' ? message.text : '';
    if (audio) {
      const transcript = await this.transcribe(bot, job, audio, chat, messageId);
      if (transcript === null) return;
      text = transcript;
    }
    const spoken = audio !== null;
    if (await this.forward(bot, job, { chatId: chat, messageId, text, spoken })) return;
    await this.replies.reply(bot, chat, localReplyTo(text), { spoken, replyToMessageId: messageId });
  }

  /** The transcript, or `null` when the user was told why there is none. */
  private async transcribe(
    bot: TelegramBotHandle,
    job: Job<TelegramUpdateJob>,
    audio: AudioAttachment,
    chatId: number,
    messageId: number | undefined,
  ): Promise<string | null> {
    if (!this.speechToText.isConfigured) {
      await this.send(bot, chatId, SPEECH_TO_TEXT_OFF_TEXT, messageId);
      return null;
    }
    if (await this.debug()) {
      await job.step('transcribing-notice', () => this.notify(bot, chatId, TRANSCRIBING_TEXT, messageId));
    }
    try {
      return await job.step('transcript', async () => {
        const file = await this.files.download(bot, audio.fileId);
        if (!file) throw new Error('the bot has no token to download the file with');
        return this.speechToText.transcribe({ audio: file.bytes, filename: file.fileName, mimeType: audio.mimeType });
      });
    } catch (error) {
      if (error instanceof ElevenLabsError && error.reason === 'no_text') {
        await this.send(bot, chatId, NO_TRANSCRIPT_TEXT, messageId);
        return null;
      }
      if (!(error instanceof ElevenLabsError || error instanceof TelegramError)) throw error;
      this.logger.warn(`Could not transcribe audio (${audio.kind}) in chat ${chatId}: ${error.message}`);
      await this.send(bot, chatId, transcriptionErrorText(error.message), messageId);
      return null;
    }
  }

  /**
   * domain.md §3.4: sends the text to cursor-runner unless it is blank or a local command. `true`
   * when handled (forwarded, or the user was told forwarding failed); `false` to answer locally.
   */
  private async forward(bot: TelegramBotHandle, job: Job<TelegramUpdateJob>, message: Forwardable): Promise<boolean> {
    if (message.text.trim() === '' || isLocalCommand(message.text)) return false;
    const outcome = await job.step('forward', () => this.forwardOnce(bot, message));
    if (outcome.forwarded) {
      if (await this.debug()) {
        await job.step('processing-notice', () => this.notify(bot, message.chatId, PROCESSING_TEXT, message.messageId));
      }
      return true;
    }
    await this.send(bot, message.chatId, forwardErrorText(outcome.error), message.messageId);
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

  /** domain.md §3.6. */
  private async handleCallbackQuery(
    bot: TelegramBotHandle,
    query: IncomingCallbackQuery,
    job: Job<TelegramUpdateJob>,
  ): Promise<void> {
    const queryId = query.id;
    if (typeof queryId === 'string' && queryId) {
      await job.step('answered', async () => {
        try {
          await bot.client.answerCallbackQuery(queryId, 'Processing...');
        } catch (error) {
          this.logger.warn(`Could not answer callback query: ${(error as Error).message}`);
        }
      });
    }
    const chatId = query.message?.chat?.id;
    if (!query.message || !Number.isSafeInteger(chatId)) return;
    const data = typeof query.data === 'string' ? query.data : '';
    const message = { chatId: chatId as number, messageId: query.message.message_id, text: data, spoken: false };
    if (await this.forward(bot, job, message)) return;
    await bot.client.sendMessage(message.chatId, `You selected: ${data}`);
  }

  /** Tells the user processing failed for good; a failure to tell them is only logged. */
  private async reportFailure(bot: TelegramBotHandle, update: TelegramUpdate, kind: UpdateKind, error: Error) {
    const chat = chatInfoOf(update);
    if (!chat) return;
    try {
      await this.send(bot, chat.chatId, failureText(kind, error.message), chat.messageId);
    } catch (sendError) {
      this.logger.warn(`Could not tell chat ${chat.chatId} that update ${update.update_id} failed: ${(sendError as Error).message}`);
    }
  }

  /** A debug notice: its failure is only logged (domain.md §3.3, §3.4). */
  private async notify(bot: TelegramBotHandle, chatId: number, text: string, replyTo: number | undefined): Promise<void> {
    try {
      await this.send(bot, chatId, text, replyTo);
    } catch (error) {
      this.logger.warn(`Could not send a notice to chat ${chatId}: ${(error as Error).message}`);
    }
  }

  private async send(bot: TelegramBotHandle, chatId: number, text: string, replyTo: number | undefined): Promise<void> {
    await bot.client.sendMessage(chatId, text, { replyToMessageId: replyTo });
  }

  private debug(): Promise<boolean> {
    return this.settings.isEnabled(DEBUG_SETTING);
  }
}
