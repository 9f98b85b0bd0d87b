import type { CallbackQuery, Message, Update } from '@grammyjs/types';

/**
 * A Bot API object as it reached us, before any check: Telegram's shape with every field, at every
 * depth, possibly missing. Intake checks only `update_id`, and a hand-made update may lack (or
 * mistype) anything else, so the processing reads each field as optional and checks it at run time.
 */
export type Unchecked<T> = T extends readonly (infer Item)[]
  ? Unchecked<Item>[]
  : T extends object
    ? { [Field in keyof T]?: Unchecked<T[Field]> }
    : T;

/** A queued Telegram `Update` (docs/telegram.md, "Updates"): an integer `update_id`, the rest unchecked. */
export type TelegramUpdate = Unchecked<Update> & { update_id: number };

/** A `message`, `edited_message` or `callback_query.message` of a {@link TelegramUpdate}. */
export type IncomingMessage = Unchecked<Message>;

/** The `callback_query` of a {@link TelegramUpdate}. */
export type IncomingCallbackQuery = Unchecked<CallbackQuery>;

/** Whether `body` is a Telegram Update: a JSON object with an integer `update_id`. */
export function isTelegramUpdate(body: unknown): body is TelegramUpdate {
  return (
    typeof body === 'object' &&
    body !== null &&
    !Array.isArray(body) &&
    Number.isSafeInteger((body as { update_id?: unknown }).update_id)
  );
}

/** What an update is about, checked in this order (docs/telegram.md, "Updates"). */
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

/** The message's audio, first match of voice, audio, `audio/*` document (docs/telegram.md, "Audio messages"), or `null`. */
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

/**
 * Fields of a service message (Bot API 9: someone joined or left, a pin, a title or photo change, a
 * group upgraded to a supergroup, a forum topic, a video chat, a boost, a giveaway…): Telegram's
 * account of what happened in the chat, not something a user said to the bot.
 */
const SERVICE_MESSAGE_FIELDS = [
  'new_chat_members',
  'left_chat_member',
  'new_chat_title',
  'new_chat_photo',
  'delete_chat_photo',
  'group_chat_created',
  'supergroup_chat_created',
  'channel_chat_created',
  'message_auto_delete_timer_changed',
  'migrate_to_chat_id',
  'migrate_from_chat_id',
  'pinned_message',
  'successful_payment',
  'refunded_payment',
  'users_shared',
  'chat_shared',
  'connected_website',
  'write_access_allowed',
  'proximity_alert_triggered',
  'boost_added',
  'chat_background_set',
  'forum_topic_created',
  'forum_topic_edited',
  'forum_topic_closed',
  'forum_topic_reopened',
  'general_forum_topic_hidden',
  'general_forum_topic_unhidden',
  'giveaway_created',
  'giveaway',
  'giveaway_winners',
  'giveaway_completed',
  'video_chat_scheduled',
  'video_chat_started',
  'video_chat_ended',
  'video_chat_participants_invited',
  'web_app_data',
] as const;

/**
 * Whether `message` is a service message with nothing a user wrote or said in it: no text, no
 * caption, no audio. The bot answered each with its "I received your message" echo (joins, leaves,
 * pins and upgrades in every group it is in), and tried to when it was removed itself.
 */
export function isServiceMessage(message: IncomingMessage): boolean {
  const fields = message as Record<string, unknown>;
  if (typeof fields.text === 'string' || typeof fields.caption === 'string' || audioOf(message) !== null) return false;
  return SERVICE_MESSAGE_FIELDS.some((field) => fields[field] !== undefined && fields[field] !== null);
}

/** `/command@name …`: a bot command addressed to the bot `name`, as Telegram writes one in a group. */
const ADDRESSED_COMMAND = /^\/[A-Za-z0-9_]+@([A-Za-z0-9_]+)(?![A-Za-z0-9_])/;

/** The bot a command at the start of `text` is addressed to (lower case), or `undefined` for none. */
export function commandAddressee(text: string): string | undefined {
  return ADDRESSED_COMMAND.exec(text)?.[1].toLowerCase();
}

/** The chat and message an update is about (for error replies), or `null` when it names no chat. */
export interface ChatInfo {
  chatId: number;
  messageId: number | undefined;
}

/** From `message`, `edited_message` or `callback_query.message`, in that order. */
export function chatInfoOf(update: TelegramUpdate): ChatInfo | null {
  const message = [update.message, update.edited_message, update.callback_query?.message].find(
    (candidate): candidate is IncomingMessage => isObject(candidate),
  );
  const chatId = message?.chat?.id;
  if (!message || !Number.isSafeInteger(chatId)) return null;
  return { chatId: chatId as number, messageId: Number.isSafeInteger(message.message_id) ? message.message_id : undefined };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmpty(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}
