import { newRequestId } from '../cursor-runner/request-id';

/** Telegram's `Update` (https://core.telegram.org/bots/api#update): the fields this service reads, the rest kept. */
export interface TelegramUpdate {
  update_id: number;
  message?: IncomingMessage;
  edited_message?: IncomingMessage;
  callback_query?: IncomingCallbackQuery;
  [field: string]: unknown;
}

/** The part of a `Message` the processing reads. Anything may be missing in a hand-made update. */
export interface IncomingMessage {
  message_id?: number;
  chat?: { id?: number; [field: string]: unknown };
  text?: string;
  voice?: { file_id?: string; mime_type?: string };
  audio?: { file_id?: string; mime_type?: string; file_name?: string };
  document?: { file_id?: string; mime_type?: string; file_name?: string };
  [field: string]: unknown;
}

export interface IncomingCallbackQuery {
  id?: string;
  data?: string;
  message?: IncomingMessage;
  [field: string]: unknown;
}

/** Whether `body` is a Telegram Update: a JSON object with an integer `update_id`. */
export function isTelegramUpdate(body: unknown): body is TelegramUpdate {
  return (
    typeof body === 'object' &&
    body !== null &&
    !Array.isArray(body) &&
    Number.isSafeInteger((body as { update_id?: unknown }).update_id)
  );
}

/** What an update is about, in the order the original dispatched (domain.md §3.2). */
export type UpdateKind = 'message' | 'edited_message' | 'callback_query' | 'unsupported';

export function kindOf(update: TelegramUpdate): UpdateKind {
  if (isObject(update.message)) return 'message';
  if (isObject(update.edited_message)) return 'edited_message';
  if (isObject(update.callback_query)) return 'callback_query';
  return 'unsupported';
}

/** The fields of an update other than `update_id`, for the "Unhandled update type" log line. */
export function fieldsOf(update: TelegramUpdate): string[] {
  return Object.keys(update).filter((field) => field !== 'update_id');
}

/** An audio file a user sent: a voice note, an audio file, or a document with an `audio/*` MIME type. */
export interface AudioAttachment {
  kind: 'voice' | 'audio' | 'document';
  fileId: string;
  mimeType: string | undefined;
}

/** The message's audio, first match of voice, audio, `audio/*` document (domain.md §3.3 step 2), or `null`. */
export function audioOf(message: IncomingMessage): AudioAttachment | null {
  const voice = message.voice;
  if (isObject(voice) && nonEmpty(voice.file_id)) return { kind: 'voice', fileId: voice.file_id, mimeType: voice.mime_type };
  const audio = message.audio;
  if (isObject(audio) && nonEmpty(audio.file_id)) return { kind: 'audio', fileId: audio.file_id, mimeType: audio.mime_type };
  const document = message.document;
  if (
    isObject(document) &&
    nonEmpty(document.file_id) &&
    typeof document.mime_type === 'string' &&
    document.mime_type.toLowerCase().startsWith('audio/')
  ) {
    return { kind: 'document', fileId: document.file_id, mimeType: document.mime_type };
  }
  return null;
}

/** The chat and message an update is about (for error replies), or `null` when it names no chat. */
export interface ChatInfo {
  chatId: number;
  messageId: number | undefined;
}

/** From `message`, `edited_message` or `callback_query.message`, in that order (domain.md §2.4). */
export function chatInfoOf(update: TelegramUpdate): ChatInfo | null {
  const message = [update.message, update.edited_message, update.callback_query?.message].find(
    (candidate): candidate is IncomingMessage => isObject(candidate),
  );
  const chatId = message?.chat?.id;
  if (!message || !Number.isSafeInteger(chatId)) return null;
  return { chatId: chatId as number, messageId: Number.isSafeInteger(message.message_id) ? message.message_id : undefined };
}

/** Commands answered here, never forwarded: a prefix match, case-insensitive (`/statusfoo` counts, as in the original). */
const LOCAL_COMMAND = /^\/(start|help|status)/i;

/** Whether `text` is one of the local commands /start, /help, /status (domain.md §3.4). */
export function isLocalCommand(text: string): boolean {
  return LOCAL_COMMAND.test(text);
}

export const HELP_TEXT =
  "Hello! I'm your Virtual Assistant. Send me a message and I'll help you out.\n\n" +
  'Available commands:\n/help - Show this message\n/status - Check my status';
export const STATUS_TEXT = "✅ I'm online and ready to help!";

/** The original's local answer to a message that was not forwarded (domain.md §3.3 step 5). */
export function localReplyTo(text: string): string {
  const command = text.trim().toLowerCase();
  if (command.startsWith('/start') || command.startsWith('/help')) return HELP_TEXT;
  if (command.startsWith('/status')) return STATUS_TEXT;
  return `I received your message: ${text}\n\nI'm still learning how to process messages. More features coming soon!`;
}

/** A request id for a forwarded message: `telegram-<unix seconds>-<8 lowercase hex>`. */
export function newTelegramRequestId(now: Date = new Date()): string {
  return newRequestId('telegram', now);
}

/** Longest part of a transcription error quoted to the user, in characters. */
export const TRANSCRIPTION_ERROR_CHARS = 4000;

export const TRANSCRIBING_TEXT = '🎤 Transcribing audio...';
export const PROCESSING_TEXT = "⏳ Processing your request... I'll send the results when complete.";
export const NO_TRANSCRIPT_TEXT =
  "❌ Sorry, I couldn't transcribe the audio message. Please try again or send a text message.";
export const SPEECH_TO_TEXT_OFF_TEXT =
  "❌ Sorry, I can't listen to voice messages here: speech-to-text is not configured. Please send a text message.";

/** The reply when transcription failed, the error's message cut to 4000 characters (domain.md §3.3). */
export function transcriptionErrorText(message: string): string {
  const shown = message.length > TRANSCRIPTION_ERROR_CHARS ? `${message.slice(0, TRANSCRIPTION_ERROR_CHARS)}...` : message;
  return `❌ Error transcribing audio: ${shown}. Please try again or send a text message.`;
}

/** The reply when cursor-runner refused or could not be reached (domain.md §3.4). */
export function forwardErrorText(message: string): string {
  return `❌ Error: Failed to execute cursor command. ${message}`;
}

/** The reply when processing failed for good (domain.md §3.2, §3.6). */
export function failureText(kind: UpdateKind, message: string): string {
  return kind === 'callback_query'
    ? `Sorry, I encountered an error processing your callback: ${message}`
    : `Sorry, I encountered an error processing your message: ${message}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmpty(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}
