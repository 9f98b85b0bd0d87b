import { FakeHttpServer, type FakeReply, type RecordedRequest } from './fake-http-server';
import { multipartOf } from './multipart';

/** One part of a multipart body. */
export interface MultipartPart {
  name: string;
  fileName?: string;
  contentType?: string;
  bytes: Buffer;
}

/** A Bot API call as the fake understood it. */
export interface BotApiCall {
  token: string;
  method: string;
  /** JSON, form or query parameters; for multipart, the text fields. */
  params: Record<string, unknown>;
  /** File parts of a multipart call, by field name. */
  files: Record<string, MultipartPart>;
  request: RecordedRequest;
  /** The `<name>` of a `/via/<name>` base URL, when the client was given one. */
  via?: string;
}

/** A `sendMessage` call: its parameters as sent. */
export interface SentMessage {
  token: string;
  chat_id: unknown;
  text: unknown;
  parse_mode?: unknown;
  /** The message it answers: `reply_parameters.message_id`, or the older `reply_to_message_id`. */
  reply_to_message_id?: number;
  params: Record<string, unknown>;
}

/** A `sendVoice` call: the multipart fields and the uploaded file. */
export interface SentVoice {
  token: string;
  /** Multipart text fields (`chat_id`, `reply_parameters`, `caption`), as strings. */
  fields: Record<string, unknown>;
  /** The message it answers, as for {@link SentMessage}. */
  reply_to_message_id?: number;
  fileName: string | undefined;
  contentType: string | undefined;
  bytes: Buffer;
}

/** A `sendDocument` call: the multipart fields and the uploaded file, as for a voice. */
export type SentDocument = SentVoice;

/** A file the fake serves through getFile and `/file/bot<token>/<path>`. */
export interface FakeFile {
  fileId: string;
  filePath: string;
  bytes: Buffer;
}

/**
 * `/bot<token>/<method>`, optionally after `/via/<name>`: a base URL of `<fake>/via/<name>` tells
 * which of several clients (processes of a fleet) made a call.
 */
const BOT_PATH = /^(?:\/via\/([^/]+))?\/bot([^/]+)\/([A-Za-z]+)$/;
const FILE_PATH = /^\/file\/bot([^/]+)\/(.+)$/;

function callOf(request: RecordedRequest): BotApiCall | undefined {
  const match = BOT_PATH.exec(request.path);
  if (!match) return undefined;
  const params: Record<string, unknown> = { ...request.query };
  const files: Record<string, MultipartPart> = {};
  const contentType = request.headers['content-type'] ?? '';
  if (/multipart\/form-data/i.test(contentType)) {
    const received = multipartOf(request);
    Object.assign(params, received.fields);
    for (const [name, file] of Object.entries(received.files)) {
      files[name] = { name, fileName: file.filename, contentType: file.contentType, bytes: file.content };
    }
  } else if (/x-www-form-urlencoded/i.test(contentType)) {
    Object.assign(params, Object.fromEntries(new URLSearchParams(request.rawBody.toString('utf8'))));
  } else if (typeof request.body === 'object' && request.body !== null) {
    Object.assign(params, request.body);
  }
  return { token: decodeURIComponent(match[2]), method: match[3], params, files, request, via: match[1] };
}

/** The @username the fake gives the bot of `token`: `bot<its id>_bot`. */
export function usernameOf(token: string): string {
  return `bot${token.split(':')[0]}_bot`;
}

function failure(status: number, description: string, parameters?: Record<string, unknown>): FakeReply {
  return { status, body: { ok: false, error_code: status, description, ...(parameters ? { parameters } : {}) } };
}

interface ReplyTarget {
  messageId: number;
  /** Send anyway, not as a reply, when the message is gone. */
  allowWithout: boolean;
}

/**
 * The message a send answers, as the Bot API reads it: `reply_parameters` (an object in JSON, a JSON
 * string in a form or multipart body), else the older `reply_to_message_id` with
 * `allow_sending_without_reply`. `'unparsable'` for `reply_parameters` Telegram cannot read.
 */
function replyTargetOf(params: Record<string, unknown>): ReplyTarget | 'unparsable' | undefined {
  let parameters = params.reply_parameters;
  if (typeof parameters === 'string') {
    try {
      parameters = JSON.parse(parameters) as unknown;
    } catch {
      return 'unparsable';
    }
  }
  if (parameters !== undefined) {
    const { message_id: messageId, allow_sending_without_reply: allow } = (parameters ?? {}) as Record<string, unknown>;
    if (typeof messageId !== 'number') return 'unparsable';
    return { messageId, allowWithout: allow === true };
  }
  if (params.reply_to_message_id === undefined) return undefined;
  const allow = params.allow_sending_without_reply;
  return { messageId: Number(params.reply_to_message_id), allowWithout: allow === true || allow === 'true' };
}

/**
 * A message's length as Telegram limits it: characters after entity parsing (HTML tags gone, each
 * entity one character).
 */
function visibleLength(text: string, parseMode: unknown): number {
  const visible = parseMode === 'HTML' ? text.replace(/<[^>]*>/g, '').replace(/&(?:lt|gt|amp|quot|#\d+|#x[0-9a-f]+);/gi, '&') : text;
  return Array.from(visible).length;
}

/** Telegram's limit on {@link visibleLength}. */
const MESSAGE_LIMIT = 4_096;

const repliedMessageOf = (params: Record<string, unknown>): number | undefined => {
  const target = replyTargetOf(params);
  return typeof target === 'object' ? target.messageId : undefined;
};

/**
 * A local Telegram Bot API: `POST|GET /bot<token>/<method>` (JSON, form or multipart) and
 * `GET /file/bot<token>/<path>` downloads. Only tokens given to {@link addBot} are known (others get
 * 401 Unauthorized, as Telegram answers a revoked token). It records every call per token, keeps each
 * bot's webhook, serves the files given to {@link addFile}, and takes scripted failures
 * ({@link failNext}: ok:false, HTTP 5xx, a delay or a dropped connection).
 */
export class FakeTelegram {
  private readonly tokens = new Set<string>();
  private readonly files = new Map<string, FakeFile>();
  private readonly webhooks = new Map<string, { url: string; secret_token?: string }>();
  private readonly scripted = new Map<string, FakeReply[]>();
  /** `<chat>\0<message id>` of user messages deleted from their chat. */
  private readonly deleted = new Set<string>();
  /** Groups upgraded to supergroups: old chat id → new one. */
  private readonly migrated = new Map<string, number>();
  private nextMessageId = 1000;
  /** How long every protocol answer waits, in milliseconds, as the real Bot API's round trip does (default none). */
  answerDelayMs = 0;

  private constructor(readonly http: FakeHttpServer) {}

  /** Starts the fake on a free loopback port, knowing `tokens`. */
  static async start(...tokens: string[]): Promise<FakeTelegram> {
    let fake: FakeTelegram | undefined;
    const http = await FakeHttpServer.start((request) => fake!.respond(request));
    fake = new FakeTelegram(http);
    for (const token of tokens) fake.addBot(token);
    return fake;
  }

  /** `http://127.0.0.1:<port>`: use it as `TELEGRAM_API_BASE_URL`. */
  get url(): string {
    return this.http.url;
  }

  addBot(token: string): void {
    this.tokens.add(token);
  }

  /** Makes `fileId` known to `token`'s getFile and downloadable at `/file/bot<token>/<filePath>`. */
  addFile(token: string, file: FakeFile): void {
    this.files.set(`${token}\0${file.fileId}`, file);
  }

  /**
   * The next calls of `method` with `token` (GET or POST) get `replies`, one per call in order;
   * then the protocol answers again.
   */
  failNext(token: string, method: string, ...replies: FakeReply[]): void {
    const key = `${token}\0${method}`;
    this.scripted.set(key, [...(this.scripted.get(key) ?? []), ...replies]);
  }

  /**
   * The user deleted message `messageId` from chat `chatId`: a send replying to it is refused with 400
   * "message to be replied not found", as Telegram does, unless it allows sending without the reply.
   */
  deleteUserMessage(chatId: number | string, messageId: number): void {
    this.deleted.add(`${String(chatId)}\0${messageId}`);
  }

  /**
   * Group `chatId` was upgraded to supergroup `supergroupId`: a send to the old id is refused with
   * 400 and `parameters.migrate_to_chat_id`, as Telegram does; the supergroup takes sends as any chat.
   */
  upgradeToSupergroup(chatId: number, supergroupId: number): void {
    this.migrated.set(String(chatId), supergroupId);
  }

  /** The next call of `method` with `token` gets Telegram's `ok:false` with `description`. */
  rejectNext(token: string, method: string, description: string, status = 400): void {
    this.failNext(token, method, failure(status, description));
  }

  /** Bot API calls received, optionally only of one method and one token, in order. */
  calls(method?: string, token?: string): BotApiCall[] {
    return this.http.requests
      .map(callOf)
      .filter((call): call is BotApiCall => call !== undefined)
      .filter((call) => (method === undefined || call.method === method) && (token === undefined || call.token === token));
  }

  /** Tokens that called anything, in order of first call. */
  tokensSeen(): string[] {
    return [...new Set(this.calls().map((call) => call.token))];
  }

  /** `sendMessage` calls, optionally only to one chat. */
  messages(chatId?: number | string): SentMessage[] {
    return this.sentMessages(this.calls('sendMessage'), chatId);
  }

  /**
   * `sendMessage` calls Telegram accepted: answered `ok: true`. A call the fake held until its
   * client died was never answered, so never accepted: that message was not sent.
   */
  deliveredMessages(chatId?: number | string): SentMessage[] {
    return this.sentMessages(
      this.calls('sendMessage').filter((call) => call.request.answeredWith === 200),
      chatId,
    );
  }

  private sentMessages(calls: BotApiCall[], chatId: number | string | undefined): SentMessage[] {
    return calls
      .filter((call) => chatId === undefined || String(call.params.chat_id) === String(chatId))
      .map(({ token, params }) => ({
        token,
        chat_id: params.chat_id,
        text: params.text,
        parse_mode: params.parse_mode,
        reply_to_message_id: repliedMessageOf(params),
        params,
      }));
  }

  /** `sendVoice` calls, optionally only to one chat, with the multipart parsed. */
  voices(chatId?: number | string): SentVoice[] {
    return this.uploads('sendVoice', 'voice', chatId);
  }

  /** `sendDocument` calls, optionally only to one chat, with the multipart parsed. */
  documents(chatId?: number | string): SentDocument[] {
    return this.uploads('sendDocument', 'document', chatId);
  }

  /** Calls of an upload `method`, optionally only to one chat: their text fields and the file in `field`. */
  private uploads(method: string, field: string, chatId?: number | string): SentVoice[] {
    return this.calls(method)
      .filter((call) => chatId === undefined || String(call.params.chat_id) === String(chatId))
      .map(({ token, params, files }) => ({
        token,
        fields: params,
        reply_to_message_id: repliedMessageOf(params),
        fileName: files[field]?.fileName,
        contentType: files[field]?.contentType,
        bytes: files[field]?.bytes ?? Buffer.alloc(0),
      }));
  }

  /** Requests for files (`/file/bot<token>/<path>`), in order. */
  downloads(): { token: string; filePath: string }[] {
    return this.http.requests.flatMap((request) => {
      const match = FILE_PATH.exec(request.path);
      return match ? [{ token: decodeURIComponent(match[1]), filePath: decodeURIComponent(match[2]) }] : [];
    });
  }

  /** The webhook `token`'s bot has set (`undefined` when none or deleted). */
  webhookOf(token: string): { url: string; secret_token?: string } | undefined {
    return this.webhooks.get(token);
  }

  /** Forgets recorded calls and scripted replies (bots, files and webhooks stay). */
  reset(): void {
    this.http.reset();
    this.scripted.clear();
    this.deleted.clear();
    this.migrated.clear();
  }

  stop(): Promise<void> {
    return this.http.stop();
  }

  private respond(request: RecordedRequest): FakeReply {
    const file = FILE_PATH.exec(request.path);
    if (file) return this.serveFile(decodeURIComponent(file[1]), decodeURIComponent(file[2]));
    const call = callOf(request);
    if (!call) return failure(404, 'Not Found');
    const scripted = this.scripted.get(`${call.token}\0${call.method}`)?.shift();
    if (scripted) return scripted;
    if (!this.tokens.has(call.token)) return failure(401, 'Unauthorized');
    const reply = this.answer(call);
    return this.answerDelayMs > 0 && !('drop' in reply) ? { ...reply, delayMs: this.answerDelayMs } : reply;
  }

  private serveFile(token: string, filePath: string): FakeReply {
    const found = [...this.files.entries()].find(([key, file]) => key.startsWith(`${token}\0`) && file.filePath === filePath);
    if (!this.tokens.has(token) || !found) return { status: 404, body: 'Not Found' };
    return { body: found[1].bytes };
  }

  private answer({ token, method, params, files }: BotApiCall): FakeReply {
    const chat = { id: Number(params.chat_id), type: 'private' };
    const date = Math.floor(Date.now() / 1000);
    if (['sendMessage', 'sendVoice', 'sendDocument', 'sendChatAction'].includes(method)) {
      const supergroup = this.migrated.get(String(params.chat_id));
      if (supergroup !== undefined) {
        return failure(400, 'Bad Request: group chat was upgraded to a supergroup chat', { migrate_to_chat_id: supergroup });
      }
    }
    if (['sendMessage', 'sendVoice', 'sendDocument'].includes(method)) {
      const target = replyTargetOf(params);
      if (target === 'unparsable') return failure(400, "Bad Request: can't parse reply parameters JSON object");
      if (target && !target.allowWithout && this.deleted.has(`${String(params.chat_id)}\0${target.messageId}`)) {
        return failure(400, 'Bad Request: message to be replied not found');
      }
    }
    switch (method) {
      case 'sendMessage':
        if (params.chat_id === undefined) return failure(400, 'Bad Request: chat_id is empty');
        if (typeof params.text !== 'string' || params.text.trim() === '') {
          return failure(400, 'Bad Request: message text is empty');
        }
        if (visibleLength(params.text, params.parse_mode) > MESSAGE_LIMIT) return failure(400, 'Bad Request: message is too long');
        return { body: { ok: true, result: { message_id: this.nextMessageId++, date, chat, text: params.text } } };
      case 'sendVoice': {
        if (params.chat_id === undefined) return failure(400, 'Bad Request: chat_id is empty');
        const voice = files.voice;
        if (!voice) return failure(400, 'Bad Request: there is no voice in the request');
        return {
          body: {
            ok: true,
            result: {
              message_id: this.nextMessageId++,
              date,
              chat,
              voice: { file_id: `voice-${this.nextMessageId}`, file_unique_id: 'u', duration: 1, mime_type: voice.contentType, file_size: voice.bytes.length },
            },
          },
        };
      }
      case 'sendDocument': {
        if (params.chat_id === undefined) return failure(400, 'Bad Request: chat_id is empty');
        const document = files.document;
        if (!document) return failure(400, 'Bad Request: there is no document in the request');
        if (document.bytes.length === 0) return failure(400, 'Bad Request: file must be non-empty');
        return {
          body: {
            ok: true,
            result: {
              message_id: this.nextMessageId++,
              date,
              chat,
              document: {
                file_id: `document-${this.nextMessageId}`,
                file_unique_id: 'u',
                file_name: document.fileName,
                mime_type: document.contentType,
                file_size: document.bytes.length,
              },
            },
          },
        };
      }
      case 'getMe': {
        const id = Number(token.split(':')[0]);
        return { body: { ok: true, result: { id, is_bot: true, first_name: 'Test bot', username: usernameOf(token), can_join_groups: true, can_read_all_group_messages: false, supports_inline_queries: false } } };
      }
      case 'getFile': {
        const known = this.files.get(`${token}\0${String(params.file_id)}`);
        if (!known) return failure(400, 'Bad Request: invalid file_id');
        return {
          body: {
            ok: true,
            result: { file_id: known.fileId, file_unique_id: `u-${known.fileId}`, file_size: known.bytes.length, file_path: known.filePath },
          },
        };
      }
      case 'setWebhook': {
        if (typeof params.url !== 'string' || params.url === '') return failure(400, 'Bad Request: bad webhook: URL is empty');
        const secret = typeof params.secret_token === 'string' ? params.secret_token : undefined;
        this.webhooks.set(token, secret === undefined ? { url: params.url } : { url: params.url, secret_token: secret });
        return { body: { ok: true, result: true, description: 'Webhook was set' } };
      }
      case 'deleteWebhook': {
        const existed = this.webhooks.delete(token);
        return { body: { ok: true, result: true, description: existed ? 'Webhook was deleted' : 'Webhook is already deleted' } };
      }
      case 'getWebhookInfo':
        return {
          body: {
            ok: true,
            result: { url: this.webhooks.get(token)?.url ?? '', has_custom_certificate: false, pending_update_count: 0 },
          },
        };
      case 'answerCallbackQuery':
        if (!params.callback_query_id) return failure(400, 'Bad Request: query is too old and response timeout expired or query ID is invalid');
        return { body: { ok: true, result: true } };
      default:
        return failure(404, 'Not Found');
    }
  }
}
