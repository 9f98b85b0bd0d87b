import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Logger } from '@nestjs/common';
import { FormData, multipartBodyOf, type MultipartBody } from '@app/outbound-http';
import type { File as TelegramFile, Message, ReplyParameters, UserFromGetMe, WebhookInfo } from '@grammyjs/types';
import {
  TelegramClient,
  type ChatId,
  type SendDocumentOptions,
  type SendMessageOptions,
  type SendVoiceOptions,
  type TelegramDownload,
  type TelegramResponse,
} from './telegram-client';
import { redactToken, TelegramApiError, TelegramHttpError, TelegramVoiceFileMissingError } from './telegram.errors';
import { voiceMimeType } from './telegram-format';
import { interpretBotApiAnswer } from './telegram-response';
import type { TelegramTransport } from './telegram-transport';

/** Bots may download files of at most 20 MB (Bot API `getFile`); a larger answer is refused, not buffered. */
export const MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024;

/** Bot API parameters: `undefined` fields are not sent. */
type Parameters = Record<string, string | number | boolean | ReplyParameters | undefined>;

/**
 * A reply to `messageId` that is still sent when that message is gone (the user deleted it while
 * the answer was being made): without `allow_sending_without_reply` Telegram refuses the send with
 * 400 "message to be replied not found", and the answer — a cursor-runner result, sent once — is lost.
 */
function replyTo(messageId: number | undefined): ReplyParameters | undefined {
  return messageId === undefined ? undefined : { message_id: messageId, allow_sending_without_reply: true };
}

function appendReplyTo(form: FormData, messageId: number | undefined): void {
  const parameters = replyTo(messageId);
  if (parameters) form.append('reply_parameters', JSON.stringify(parameters));
}

/**
 * The Bot API for one token over the shared keep-alive {@link TelegramTransport}. Requests are
 * `POST /bot<token>/<method>` with a JSON body (multipart for sendVoice and sendDocument); the token appears only in
 * the request path, never in a log line, an error message or a cache key.
 */
export class HttpTelegramClient extends TelegramClient {
  readonly enabled = true;
  private readonly logger = new Logger('TelegramClient');

  constructor(
    private readonly token: string,
    readonly tokenDigest: string,
    private readonly transport: TelegramTransport,
  ) {
    super();
  }

  sendMessage(chatId: ChatId, text: string, options: SendMessageOptions = {}): Promise<TelegramResponse<Message.TextMessage>> {
    return this.toChat(chatId, (chat) =>
      this.call('sendMessage', {
        chat_id: chat,
        text,
        parse_mode: options.parseMode,
        reply_parameters: replyTo(options.replyToMessageId),
      }),
    );
  }

  async sendVoice(
    chatId: ChatId,
    audio: Buffer | string,
    options: SendVoiceOptions = {},
  ): Promise<TelegramResponse<Message.VoiceMessage>> {
    const bytes = typeof audio === 'string' ? await readVoiceFile(audio) : audio;
    const fileName = options.filename ?? (typeof audio === 'string' ? path.basename(audio) : 'voice.mp3');
    return this.toChat(chatId, async (chat) => {
      const form = new FormData();
      form.append('chat_id', String(chat));
      appendReplyTo(form, options.replyToMessageId);
      if (options.caption !== undefined) form.append('caption', options.caption);
      form.append('voice', new Blob([bytes], { type: voiceMimeType(fileName) }), fileName);
      return this.call('sendVoice', await multipartBodyOf(form));
    });
  }

  async sendDocument(
    chatId: ChatId,
    fileName: string,
    content: Buffer,
    options: SendDocumentOptions = {},
  ): Promise<TelegramResponse<Message.DocumentMessage>> {
    return this.toChat(chatId, async (chat) => {
      const form = new FormData();
      form.append('chat_id', String(chat));
      appendReplyTo(form, options.replyToMessageId);
      if (options.caption !== undefined) form.append('caption', options.caption);
      form.append('document', new Blob([content], { type: options.contentType ?? 'text/plain; charset=utf-8' }), fileName);
      return this.call('sendDocument', await multipartBodyOf(form));
    });
  }

  getMe(): Promise<TelegramResponse<UserFromGetMe>> {
    return this.call('getMe', {});
  }

  getFile(fileId: string): Promise<TelegramResponse<TelegramFile>> {
    return this.call('getFile', { file_id: fileId });
  }

  async fetchFile(filePath: string): Promise<TelegramDownload> {
    const encodedPath = filePath.split('/').map(encodeURIComponent).join('/');
    const started = performance.now();
    try {
      const answer = await this.transport.exchange({
        method: 'download',
        httpMethod: 'GET',
        path: `/file/bot${this.token}/${encodedPath}`,
        token: this.token,
        maxBytes: MAX_DOWNLOAD_BYTES,
      });
      if (answer.status < 200 || answer.status >= 300) {
        throw new TelegramHttpError(
          'download',
          answer.status,
          redactToken(`Failed to download file: HTTP ${answer.status} ${answer.statusText}`.trim(), this.token),
        );
      }
      this.logger.debug(`telegram download → ${answer.body.length} bytes in ${elapsed(started)} ms (bot ${this.tokenDigest})`);
      return { bytes: answer.body, filePath, fileName: path.posix.basename(filePath) };
    } catch (error) {
      this.logFailure('download', started, error);
      throw error;
    }
  }

  async downloadFile(fileId: string): Promise<TelegramDownload> {
    return this.fetchFile(filePathOf((await this.getFile(fileId)).result));
  }

  setWebhook(url: string, secretToken?: string): Promise<TelegramResponse<boolean>> {
    return this.call('setWebhook', { url, secret_token: secretToken?.trim() ? secretToken : undefined });
  }

  deleteWebhook(): Promise<TelegramResponse<boolean>> {
    return this.call('deleteWebhook', {});
  }

  getWebhookInfo(): Promise<TelegramResponse<WebhookInfo>> {
    return this.call('getWebhookInfo', {});
  }

  answerCallbackQuery(callbackQueryId: string, text?: string, showAlert?: boolean): Promise<TelegramResponse<boolean>> {
    return this.call('answerCallbackQuery', { callback_query_id: callbackQueryId, text, show_alert: showAlert });
  }

  /**
   * `send` to `chatId`, and once more to the supergroup Telegram names when the group was upgraded
   * to one (400 with `migrate_to_chat_id`): a request started in a group — a cursor-runner run that
   * outlives the upgrade — is answered where the group now is, instead of lost. The message it
   * replied to has another id there, so the answer arrives as a plain message
   * (`allow_sending_without_reply`).
   */
  private async toChat<T>(chatId: ChatId, send: (chat: ChatId) => Promise<T>): Promise<T> {
    try {
      return await send(chatId);
    } catch (error) {
      if (!(error instanceof TelegramApiError) || error.migrateToChatId === undefined) throw error;
      this.logger.log(`Chat ${chatId} was upgraded to supergroup ${error.migrateToChatId}: sending there (bot ${this.tokenDigest})`);
      return send(error.migrateToChatId);
    }
  }

  private async call<T>(method: string, parameters: Parameters | MultipartBody): Promise<TelegramResponse<T>> {
    const body = isMultipart(parameters)
      ? parameters
      : { contentType: 'application/json', body: Buffer.from(JSON.stringify(parameters)) };
    const started = performance.now();
    try {
      const answer = await this.transport.exchange({
        method,
        httpMethod: 'POST',
        path: `/bot${this.token}/${method}`,
        headers: { 'Content-Type': body.contentType, Accept: 'application/json' },
        body: body.body,
        token: this.token,
      });
      const response = interpretBotApiAnswer<T>(method, answer.status, answer.body.toString('utf8'), this.token);
      this.logger.debug(`telegram ${method} → ${answer.status} in ${elapsed(started)} ms (bot ${this.tokenDigest})`);
      return response;
    } catch (error) {
      this.logFailure(method, started, error);
      throw error;
    }
  }

  private logFailure(method: string, started: number, error: unknown): void {
    const description = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    this.logger.warn(
      `telegram ${method} failed after ${elapsed(started)} ms (bot ${this.tokenDigest}): ${redactToken(description, this.token)}`,
    );
  }
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}

function isMultipart(parameters: Parameters | MultipartBody): parameters is MultipartBody {
  return Buffer.isBuffer((parameters as MultipartBody).body);
}

async function readVoiceFile(filePath: string): Promise<Buffer> {
  try {
    return await fs.readFile(filePath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new TelegramVoiceFileMissingError();
    throw error;
  }
}

/** The `file_path` of a getFile result; Telegram leaves it out for a file it cannot serve. */
export function filePathOf(file: TelegramFile): string {
  if (!file.file_path) {
    throw new TelegramHttpError('getFile', 200, `Telegram gave no file_path for file ${file.file_id}`);
  }
  return file.file_path;
}
