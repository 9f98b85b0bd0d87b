import { Injectable, Logger } from '@nestjs/common';
import { TextToSpeech } from '../elevenlabs';
import { SettingsService } from '../settings';
import type { ChatId, SendMessageOptions } from './telegram-client';
import type { TelegramBotHandle } from './telegram-bots.service';

/** The setting that lets a spoken message get a spoken answer (domain.md §3.3 step 6, §5.3). */
export const ALLOW_AUDIO_OUTPUT = 'allow_audio_output';

export interface ReplyOptions {
  replyToMessageId?: number;
  /**
   * The user spoke (a voice or audio message): answer with voice when `allow_audio_output` is
   * enabled and speech synthesis is configured. Default false.
   */
  spoken?: boolean;
  /** How the text goes when it is sent as text; default HTML with `&`, `<`, `>` escaped. */
  text?: Omit<SendMessageOptions, 'replyToMessageId'>;
  /** What to speak instead of `text` (the plain rendering of an HTML message); default `text`. */
  speech?: string;
}

/** How a reply went out. */
export type ReplyMedium = 'voice' | 'text';

/**
 * Answers a Telegram user the way the original did (§3.5): with a voice message when they spoke
 * and voice output is allowed, else — or when synthesis or the upload fails — with the same text.
 * A failure to send the text itself is the caller's to handle (it rejects).
 */
@Injectable()
export class TelegramReplies {
  private readonly logger = new Logger('TelegramReplies');

  constructor(
    private readonly speech: TextToSpeech,
    private readonly settings: SettingsService,
  ) {}

  async reply(bot: TelegramBotHandle, chatId: ChatId, text: string, options: ReplyOptions = {}): Promise<ReplyMedium> {
    if (options.spoken && (await this.voiceAllowed())) {
      try {
        const audio = await this.speech.synthesize(options.speech ?? text);
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
    await bot.client.sendMessage(chatId, text, { ...options.text, replyToMessageId: options.replyToMessageId });
    return 'text';
  }

  private async voiceAllowed(): Promise<boolean> {
    return this.speech.isConfigured && (await this.settings.isEnabled(ALLOW_AUDIO_OUTPUT));
  }
}
