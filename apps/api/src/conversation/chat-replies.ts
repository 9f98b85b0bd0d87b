import { Injectable, Logger } from '@nestjs/common';
import { TextToSpeech } from '../adapters/elevenlabs';
import { escapeHtml, TELEGRAM_MESSAGE_LIMIT, TelegramApiError, type ChatId } from '../adapters/telegram';
import type { TelegramBotHandle } from '../telegram';
import { ALLOW_AUDIO_OUTPUT, SettingSwitches } from './ports';

/** One message in two renderings: Telegram HTML (every piece of content escaped) and plain text. */
export interface ChatMessage {
  html: string;
  plain: string;
}

/** A text shown literally: escaped once for Telegram's HTML parse mode. */
export function plainMessage(text: string): ChatMessage {
  return { html: escapeHtml(text), plain: text };
}

export interface ReplyOptions {
  replyToMessageId?: number;
  /**
   * The user spoke (a voice or audio message): answer with voice when `allow_audio_output` is
   * enabled and speech synthesis is configured. Default false.
   */
  spoken?: boolean;
}

/** How a reply went out. */
export type ReplyMedium = 'voice' | 'text';

/**
 * `text`, or its start and an ellipsis when it is longer than a message may be. Counted in UTF-16
 * units, which is never fewer than the characters Telegram counts, so the cut fits whichever way it
 * counts an emoji; a pair is never split.
 */
function fitted(text: string): string {
  if (text.length <= TELEGRAM_MESSAGE_LIMIT) return text;
  const start = text.slice(0, TELEGRAM_MESSAGE_LIMIT - 1);
  return `${/[\uD800-\uDBFF]$/.test(start) ? start.slice(0, -1) : start}…`;
}

/** Telegram refused the message's HTML (`Bad Request: can't parse entities: …`). */
export function isParseError(error: unknown): boolean {
  return error instanceof TelegramApiError && error.status === 400 && /can't parse entities/i.test(error.description);
}

/**
 * The one way the conversation writes to a user, through the bot the conversation runs on. Texts
 * go as Telegram HTML (parse mode `HTML`, content escaped once by {@link plainMessage} or the
 * result renderer); when Telegram refuses that HTML, the plain rendering goes without a parse mode.
 * A failure to send the text itself rejects: whether to retry or only log is the caller's choice.
 */
@Injectable()
export class ChatReplies {
  private readonly logger = new Logger('ChatReplies');

  constructor(
    private readonly speech: TextToSpeech,
    private readonly settings: SettingSwitches,
  ) {}

  /**
   * An answer to what the user said: a voice message when they spoke and voice output is allowed
   * (the plain rendering is spoken), else — or when synthesis or the upload fails — the text.
   */
  async reply(bot: TelegramBotHandle, chatId: ChatId, message: ChatMessage, options: ReplyOptions = {}): Promise<ReplyMedium> {
    if (options.spoken && (await this.voiceAllowed())) {
      try {
        const audio = await this.speech.synthesize(message.plain);
        await bot.client.sendVoice(chatId, audio, {
          replyToMessageId: options.replyToMessageId,
          // The extension picks the upload's MIME type: synthesis answers MP3.
          filename: 'reply.mp3',
        });
        return 'voice';
      } catch (error) {
        this.logger.warn(`Voice reply to chat ${chatId} failed, sending text instead: ${(error as Error).message}`);
      }
    }
    await this.write(bot, chatId, message, options.replyToMessageId);
    return 'text';
  }

  /**
   * A text shown literally (notices, errors, local answers to a button), never spoken. One that
   * quotes something long (cursor-runner's refusal, an error) is cut to Telegram's limit, which
   * would otherwise refuse the whole message.
   */
  async say(bot: TelegramBotHandle, chatId: ChatId, text: string, replyToMessageId?: number): Promise<void> {
    await this.write(bot, chatId, plainMessage(fitted(text)), replyToMessageId);
  }

  /** A text file (the whole of an output too long for a message), as a document replying to the user's message. */
  async attach(bot: TelegramBotHandle, chatId: ChatId, fileName: string, content: string, replyToMessageId?: number): Promise<void> {
    await bot.client.sendDocument(chatId, fileName, Buffer.from(content, 'utf8'), { replyToMessageId });
  }

  /** A notice about work in progress (debug mode): its failure is only logged, never thrown. */
  async notify(bot: TelegramBotHandle, chatId: ChatId, text: string, replyToMessageId?: number): Promise<void> {
    try {
      await this.say(bot, chatId, text, replyToMessageId);
    } catch (error) {
      this.logger.warn(`Could not send a notice to chat ${chatId}: ${(error as Error).message}`);
    }
  }

  /** Answers a pressed inline button (`answerCallbackQuery`), which stops its spinner. */
  async acknowledge(bot: TelegramBotHandle, callbackQueryId: string, text: string): Promise<void> {
    await bot.client.answerCallbackQuery(callbackQueryId, text);
  }

  private async write(bot: TelegramBotHandle, chatId: ChatId, message: ChatMessage, replyToMessageId?: number): Promise<void> {
    try {
      await bot.client.sendMessage(chatId, message.html, { parseMode: 'HTML', replyToMessageId });
    } catch (error) {
      if (!isParseError(error)) throw error;
      this.logger.warn(`Telegram refused the HTML of a message to chat ${chatId}, sending it as plain text: ${(error as Error).message}`);
      await bot.client.sendMessage(chatId, message.plain, { replyToMessageId });
    }
  }

  private async voiceAllowed(): Promise<boolean> {
    return this.speech.isConfigured && (await this.settings.isEnabled(ALLOW_AUDIO_OUTPUT));
  }
}
