import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectQueue, JobQueue, PermanentJobError, RetryLaterError, type Job } from '@app/queue';
import { ElevenLabsError, SpeechToText } from '../../adapters/elevenlabs';
import { TelegramApiError, TelegramError } from '../../adapters/telegram';
import type { TelegramBotHandle } from '../../telegram';
import { isTransient, MAX_THROTTLED_WAIT_MS, throttledForMs } from '../callbacks/delivery-policy';
import { ChatReplies } from '../chat-replies';
import { BotLookup, DEBUG_SETTING, FileDownloads, SettingSwitches } from '../ports';
import {
  audioOf,
  chatInfoOf,
  commandAddressee,
  fieldsOf,
  isServiceMessage,
  kindOf,
  type AudioAttachment,
  type IncomingCallbackQuery,
  type IncomingMessage,
  type TelegramUpdate,
  type UpdateKind,
} from '../telegram-update';
import { TELEGRAM_UPDATES_QUEUE, type TelegramUpdateJob } from '../telegram-updates.queue';
import {
  CALLBACK_QUERY_ANSWER,
  failureText,
  interruptedReason,
  NO_TRANSCRIPT_TEXT,
  SPEECH_TO_TEXT_OFF_TEXT,
  TRANSCRIBING_TEXT,
  transcriptionErrorText,
} from '../texts';
import { AnswerLocally } from './answer-locally.use-case';
import { isNewConversationCommand, StartConversation } from './start-conversation.use-case';
import { ForwardMessage } from './forward-message.use-case';

/**
 * The steps of the answers an update gets from here: a local command's, and why its audio has no
 * transcript. Saved with the job like the forward, so the job run again — retried from the queue
 * dashboard after it completed — does not send them a second time. Two names: a run after a failed
 * transcription may transcribe the audio and then owe the local answer.
 */
const LOCAL_REPLY_STEP = 'local-reply';
const NO_TRANSCRIPT_NOTICE_STEP = 'no-transcript-notice';

/** Telegram refusing the request itself (chat not found, bot blocked, bad token): retrying cannot help. */
function isPermanent(error: unknown): boolean {
  return error instanceof TelegramApiError && error.status >= 400 && error.status < 500 && error.status !== 429;
}

/**
 * Processes queued webhook updates (docs/telegram.md, "Updates"): messages and edited messages
 * (audio transcribed, local commands answered by {@link AnswerLocally}, everything else forwarded
 * by {@link ForwardMessage}, whose result comes back through the callback), callback queries, and
 * nothing else. Every answer goes through the bot the update came through.
 *
 * Retries: a failed attempt is retried (3 attempts, exponential backoff). Telegram throttling a send
 * (429) uses up no attempt: the job runs again after its `retry_after`, for up to
 * {@link MAX_THROTTLED_WAIT_MS} of such waits in all, as a result delivery does. Each effect a retry
 * must not repeat is a job step whose outcome is saved with the job: the forward to cursor-runner (so
 * a message is never run twice), the debug notices, the callback query's answer and the replies sent
 * from here. The user is told about a failure once, when the last attempt fails, never before an
 * answer that a retry then sends.
 */
@Injectable()
export class ProcessUpdate implements OnApplicationBootstrap {
  private readonly logger = new Logger('TelegramUpdates');

  constructor(
    @InjectQueue(TELEGRAM_UPDATES_QUEUE) private readonly queue: JobQueue<TelegramUpdateJob>,
    private readonly bots: BotLookup,
    private readonly files: FileDownloads,
    private readonly speechToText: SpeechToText,
    private readonly settings: SettingSwitches,
    private readonly replies: ChatReplies,
    private readonly forwarding: ForwardMessage,
    private readonly local: AnswerLocally,
    private readonly conversations: StartConversation,
  ) {}

  onApplicationBootstrap(): void {
    this.queue.process((job) => this.process(job), { giveUp: (job, interruptions) => this.giveUp(job, interruptions) });
  }

  /**
   * A job cut short too many times (its worker killed each time): it is not run again, the user
   * is told (a forward it may have begun included: cursor-runner may have the request).
   */
  async giveUp(job: Job<TelegramUpdateJob>, interruptions: number): Promise<void> {
    const { update, botId } = job.data;
    const bot = await this.bots.findById(botId);
    if (!bot) return;
    this.logger.error(`Gave up Telegram update ${update.update_id}: its processing was cut short ${interruptions} times`);
    await this.reportFailure(bot, update, kindOf(update), new Error(interruptedReason(interruptions)));
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
      const throttledMs = await this.throttledWait(job, error);
      if (throttledMs !== undefined) {
        const by = isElevenLabsThrottle(error) ? 'ElevenLabs' : 'Telegram';
        this.logger.warn(
          `${by} throttled update ${update.update_id} (not counted as an attempt); running it again in ${throttledMs} ms: ${(error as Error).message}`,
        );
        throw new RetryLaterError(throttledMs, `update ${update.update_id}, throttled by ${by}`);
      }
      const permanent = isPermanent(error);
      if (job.isFinalAttempt || permanent) await this.reportFailure(bot, update, kind, error as Error);
      throw permanent ? new PermanentJobError((error as Error).message, { cause: error }) : error;
    }
  }

  /**
   * The wait a 429 asks for — Telegram's `retry_after`; for ElevenLabs, which names none, 2 s doubled
   * at each throttle up to 30 s — when waiting it out keeps the update's throttled time within
   * {@link MAX_THROTTLED_WAIT_MS}; each wait is saved as a job step, so every run counts them all.
   */
  private async throttledWait(job: Job<TelegramUpdateJob>, error: unknown): Promise<number | undefined> {
    const telegramWait = throttledForMs(error);
    if (telegramWait === undefined && !isElevenLabsThrottle(error)) return undefined;
    let waited = 0;
    for (let throttle = 1; ; throttle += 1) {
      const wait = telegramWait ?? Math.min(ELEVENLABS_FIRST_THROTTLE_WAIT_MS * 2 ** (throttle - 1), ELEVENLABS_LONGEST_THROTTLE_WAIT_MS);
      let savedNow = false;
      const saved = await job.step(`throttled-${throttle}`, async () => {
        savedNow = true;
        return waited + wait <= MAX_THROTTLED_WAIT_MS ? wait : 0;
      });
      if (savedNow) return saved > 0 ? saved : undefined;
      waited += saved;
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

  /** A message: transcribed when it is audio, then forwarded or answered here. */
  private async handleMessage(bot: TelegramBotHandle, message: IncomingMessage, job: Job<TelegramUpdateJob>): Promise<void> {
    const chatId = message.chat?.id;
    if (!Number.isSafeInteger(chatId)) {
      this.logger.warn('Ignored a message without a chat id');
      return;
    }
    if (isServiceMessage(message)) {
      this.logger.debug(`Ignored a service message in chat ${chatId as number}`);
      return;
    }
    const chat = chatId as number;
    const messageId = message.message_id;
    const audio = audioOf(message);
    let text = textOf(message);
    if (audio) {
      const transcript = await this.transcribe(bot, job, audio, chat, messageId);
      if (transcript === null) return;
      text = transcript;
    }
    const spoken = audio !== null;
    if (!spoken && (await this.addressedToAnotherBot(bot, text))) {
      this.logger.debug(`Ignored a command in chat ${chat} addressed to another bot`);
      return;
    }
    if (isNewConversationCommand(text)) return this.conversations.start(bot, job, chat, messageId);
    if (await this.forwarding.forward(bot, job, { chatId: chat, messageId, text, spoken })) return;
    await job.step(LOCAL_REPLY_STEP, () => this.local.message(bot, chat, text, { spoken, replyToMessageId: messageId }));
  }

  /**
   * Whether `text` is a command addressed to another bot (`/new@other_bot`): in a group whose bots
   * see every message, one bot's commands reached this one, which answered `/help@other_bot`, reset
   * its conversation on `/new@other_bot` and sent `/deploy@ci_bot` to the agent. A command addressed
   * to no bot or to this one is ours; so is every command of a bot without a token (no name to ask).
   * When asking fails (Telegram down), an addressed command is left alone: better unanswered than
   * answered with an error about, or run for, another bot's command.
   */
  private async addressedToAnotherBot(bot: TelegramBotHandle, text: string): Promise<boolean> {
    const addressee = commandAddressee(text);
    if (addressee === undefined) return false;
    let own: string | null;
    try {
      own = await this.bots.usernameOf(bot);
    } catch (error) {
      this.logger.warn(`Ignored a command addressed to @${addressee}: this bot's own name could not be asked (${(error as Error).message})`);
      return true;
    }
    return own !== null && addressee !== own.toLowerCase();
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
      await job.step(NO_TRANSCRIPT_NOTICE_STEP, () => this.replies.say(bot, chatId, SPEECH_TO_TEXT_OFF_TEXT, messageId));
      return null;
    }
    if (await this.settings.isEnabled(DEBUG_SETTING)) {
      await job.step('transcribing-notice', () => this.replies.notify(bot, chatId, TRANSCRIBING_TEXT, messageId));
    }
    try {
      return await job.step('transcript', async () => {
        const file = await this.files.download(bot, audio.fileId);
        if (!file) throw new Error('the bot has no token to download the file with');
        return this.speechToText.transcribe({ audio: file.bytes, filename: file.fileName, mimeType: audio.mimeType });
      });
    } catch (error) {
      if (error instanceof ElevenLabsError && error.reason === 'no_text') {
        await job.step(NO_TRANSCRIPT_NOTICE_STEP, () => this.replies.say(bot, chatId, NO_TRANSCRIPT_TEXT, messageId));
        return null;
      }
      if (!(error instanceof ElevenLabsError || error instanceof TelegramError)) throw error;
      // Telegram or ElevenLabs unreachable, overloaded or throttling: the update is tried again (with the
      // queue's growing delay; a Telegram 429 waited out) rather than the user asked at once to send the
      // audio again — and on its last attempt, the user is told why.
      if (isTransientTranscriptionFailure(error) && (!job.isFinalAttempt || isElevenLabsThrottle(error))) throw error;
      this.logger.warn(`Could not transcribe audio (${audio.kind}) in chat ${chatId}: ${error.message}`);
      await job.step(NO_TRANSCRIPT_NOTICE_STEP, () => this.replies.say(bot, chatId, transcriptionErrorText(error.message), messageId));
      return null;
    }
  }

  /** A pressed inline button: acknowledged, then its data forwarded or answered here. */
  private async handleCallbackQuery(
    bot: TelegramBotHandle,
    query: IncomingCallbackQuery,
    job: Job<TelegramUpdateJob>,
  ): Promise<void> {
    const queryId = query.id;
    if (typeof queryId === 'string' && queryId) {
      await job.step('answered', async () => {
        try {
          await this.replies.acknowledge(bot, queryId, CALLBACK_QUERY_ANSWER);
        } catch (error) {
          this.logger.warn(`Could not answer callback query: ${(error as Error).message}`);
        }
      });
    }
    const chatId = query.message?.chat?.id;
    if (!query.message || !Number.isSafeInteger(chatId)) return;
    const data = typeof query.data === 'string' ? query.data : '';
    const message = { chatId: chatId as number, messageId: query.message.message_id, text: data, spoken: false };
    if (await this.forwarding.forward(bot, job, message)) return;
    await job.step(LOCAL_REPLY_STEP, () => this.local.button(bot, message.chatId, data));
  }

  /** Tells the user processing failed for good; a failure to tell them is only logged. */
  private async reportFailure(bot: TelegramBotHandle, update: TelegramUpdate, kind: UpdateKind, error: Error) {
    const chat = chatInfoOf(update);
    if (!chat) return;
    try {
      await this.replies.say(bot, chat.chatId, failureText(kind, error.message), chat.messageId);
    } catch (sendError) {
      this.logger.warn(`Could not tell chat ${chat.chatId} that update ${update.update_id} failed: ${(sendError as Error).message}`);
    }
  }
}

/**
 * What the user wrote: the message's `text`, or the `caption` of a photo, video or document (which
 * carry no `text`); a message with neither (a sticker, a bare photo) is blank. The media itself is
 * not sent on (cursor-runner takes a text prompt; docs/telegram.md, "Local commands").
 */
function textOf(message: IncomingMessage): string {
  if (typeof message.text === 'string') return message.text;
  return typeof message.caption === 'string' ? message.caption : '';
}

/**
 * A failure that may pass by itself: Telegram's as {@link isTransient} reads it; ElevenLabs
 * unreachable, timed out, throttling (429: too many requests at once, or a rate) or failing (5xx).
 */
function isTransientTranscriptionFailure(error: ElevenLabsError | TelegramError): boolean {
  if (error instanceof TelegramError) return isTransient(error);
  if (error.reason === 'connection' || error.reason === 'timeout') return true;
  return error.reason === 'rejected' && error.status !== undefined && (error.status === 429 || error.status >= 500);
}

/** The first wait after ElevenLabs answers 429 (too many concurrent requests, or a rate), doubled at each throttle. */
const ELEVENLABS_FIRST_THROTTLE_WAIT_MS = 2_000;
const ELEVENLABS_LONGEST_THROTTLE_WAIT_MS = 30_000;

/** ElevenLabs refused for now: too many requests at once, or too many in a while. */
function isElevenLabsThrottle(error: unknown): boolean {
  return error instanceof ElevenLabsError && error.reason === 'rejected' && error.status === 429;
}
