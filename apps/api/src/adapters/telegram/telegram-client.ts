import type { ApiSuccess, File as TelegramFile, Message, ParseMode, UserFromGetMe, WebhookInfo } from '@grammyjs/types';

/**
 * A successful Bot API answer as Telegram sent it: `{ok: true, result, description?}`. The admin
 * routes return it as is, the message flow usually reads `result`. The Bot API allows a
 * `description` on any answer; the package's `ApiSuccess` leaves it out, so it is added here.
 */
export type TelegramResponse<T> = ApiSuccess<T> & { description?: string };

export interface SendMessageOptions {
  /**
   * How Telegram reads `text`; absent sends plain text (no `parse_mode` field). The text is sent as
   * it is: with `HTML`, every piece of content in it must already be escaped.
   */
  parseMode?: ParseMode;
  replyToMessageId?: number;
}

export interface SendVoiceOptions {
  replyToMessageId?: number;
  caption?: string;
  /**
   * Name of the multipart file part; its extension picks the MIME type (`.ogg`/`.oga` → audio/ogg,
   * `.wav` → audio/wav, else audio/mpeg). Default: the file's basename, or `voice.mp3` for bytes.
   */
  filename?: string;
}

export interface SendDocumentOptions {
  replyToMessageId?: number;
  /** Shown under the file (at most 1 024 characters, plain text). */
  caption?: string;
  /** MIME type of the file part. Default `text/plain; charset=utf-8`. */
  contentType?: string;
}

/** A downloaded Telegram file, held in memory (bots may download at most 20 MB). */
export interface TelegramDownload {
  /** The file's bytes. */
  bytes: Buffer;
  /** Telegram's path of the file, e.g. `voice/file_12.oga`. */
  filePath: string;
  /** The last segment of `filePath`, for a multipart upload elsewhere (speech-to-text). */
  fileName: string;
}

/** A chat id as Telegram accepts it: the number, or `@channelusername` (the Bot API names no type for it). */
export type ChatId = number | string;

/**
 * The Telegram Bot API for one bot token. Every method rejects with a `TelegramError` subclass when
 * the call fails (Telegram's `ok:false`, an HTTP error, a connection failure, the timeout) and
 * resolves with `null` without calling anything when the bot has no token (the env bot with a blank
 * `TELEGRAM_BOT_TOKEN`). Get one from `TelegramBots`; never build one per call.
 */
export abstract class TelegramClient {
  /** Whether calls reach Telegram (`false`: every call is a no-op resolving `null`). */
  abstract readonly enabled: boolean;
  /**
   * Names the bot in logs and cache keys without revealing its token: a digest of the token, or
   * `none` for a bot without one.
   */
  abstract readonly tokenDigest: string;

  /** `sendMessage`, with `text` sent as it is in the given parse mode. */
  abstract sendMessage(
    chatId: ChatId,
    text: string,
    options?: SendMessageOptions,
  ): Promise<TelegramResponse<Message.TextMessage> | null>;

  /**
   * `sendVoice`, multipart with the audio in field `voice`. `audio` is the bytes or the path of a
   * local file (rejected with `TelegramVoiceFileMissingError` when it does not exist).
   */
  abstract sendVoice(
    chatId: ChatId,
    audio: Buffer | string,
    options?: SendVoiceOptions,
  ): Promise<TelegramResponse<Message.VoiceMessage> | null>;

  /**
   * `sendDocument`, multipart with the file in field `document` under `fileName` (bots may send
   * files of up to 50 MB).
   */
  abstract sendDocument(
    chatId: ChatId,
    fileName: string,
    content: Buffer,
    options?: SendDocumentOptions,
  ): Promise<TelegramResponse<Message.DocumentMessage> | null>;

  /** `getMe`: the bot itself, its `username` included. */
  abstract getMe(): Promise<TelegramResponse<UserFromGetMe> | null>;

  /** `getFile`: the file's metadata, including the `file_path` to download it from. */
  abstract getFile(fileId: string): Promise<TelegramResponse<TelegramFile> | null>;

  /** Downloads `<api base>/file/bot<token>/<filePath>` (a path from {@link getFile}). */
  abstract fetchFile(filePath: string): Promise<TelegramDownload | null>;

  /** {@link getFile} then {@link fetchFile}. `TelegramFiles.download` does the same with the metadata cached. */
  abstract downloadFile(fileId: string): Promise<TelegramDownload | null>;

  /** `setWebhook {url, secret_token?}`; a blank secret is not sent. */
  abstract setWebhook(url: string, secretToken?: string): Promise<TelegramResponse<boolean> | null>;

  /** `deleteWebhook`. */
  abstract deleteWebhook(): Promise<TelegramResponse<boolean> | null>;

  /** `getWebhookInfo`. */
  abstract getWebhookInfo(): Promise<TelegramResponse<WebhookInfo> | null>;

  /** `answerCallbackQuery {callback_query_id, text?, show_alert?}`. */
  abstract answerCallbackQuery(
    callbackQueryId: string,
    text?: string,
    showAlert?: boolean,
  ): Promise<TelegramResponse<boolean> | null>;
}
