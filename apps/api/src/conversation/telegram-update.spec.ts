import {
  audioOf,
  chatInfoOf,
  fieldsOf,
  isTelegramUpdate,
  kindOf,
  type TelegramUpdate,
} from './telegram-update';
import { updateDeduplicationId } from './telegram-updates.queue';

const chat = { id: 42, type: 'private' } as const;

describe('isTelegramUpdate', () => {
  it.each([
    [{ update_id: 1 }, true],
    [{ update_id: 0, message: {} }, true],
    [{ update_id: 1.5 }, false],
    [{ update_id: '1' }, false],
    [{ message: {} }, false],
    [[{ update_id: 1 }], false],
    [null, false],
    ['{"update_id":1}', false],
  ])('%j → %s', (body, expected) => {
    expect(isTelegramUpdate(body)).toBe(expected);
  });
});

describe('kindOf and fieldsOf', () => {
  it('dispatches message first, then edited_message, then callback_query, else unsupported', () => {
    expect(kindOf({ update_id: 1, message: { chat }, edited_message: { chat } })).toBe('message');
    expect(kindOf({ update_id: 1, edited_message: { chat } })).toBe('edited_message');
    expect(kindOf({ update_id: 1, callback_query: { id: 'q' } })).toBe('callback_query');
    expect(kindOf({ update_id: 1, my_chat_member: {} })).toBe('unsupported');
    expect(kindOf({ update_id: 1, message: 'not an object' } as unknown as TelegramUpdate)).toBe('unsupported');
    expect(fieldsOf({ update_id: 1, my_chat_member: {}, poll: {} })).toEqual(['my_chat_member', 'poll']);
  });
});

describe('audioOf', () => {
  it('finds a voice note, an audio file, or an audio/* document, in that order', () => {
    expect(audioOf({ voice: { file_id: 'v', mime_type: 'audio/ogg' }, audio: { file_id: 'a' } })).toEqual({
      kind: 'voice',
      fileId: 'v',
      mimeType: 'audio/ogg',
    });
    expect(audioOf({ audio: { file_id: 'a', mime_type: 'audio/mpeg' } })).toEqual({ kind: 'audio', fileId: 'a', mimeType: 'audio/mpeg' });
    expect(audioOf({ document: { file_id: 'd', mime_type: 'Audio/WAV' } })).toEqual({ kind: 'document', fileId: 'd', mimeType: 'Audio/WAV' });
  });

  it('ignores other documents, missing file ids and plain text', () => {
    expect(audioOf({ document: { file_id: 'd', mime_type: 'application/pdf' } })).toBeNull();
    expect(audioOf({ document: { file_id: 'd' } })).toBeNull();
    expect(audioOf({ voice: { file_id: '' } })).toBeNull();
    expect(audioOf({ text: 'hello' })).toBeNull();
  });
});

describe('chatInfoOf', () => {
  it('reads message, edited_message, then callback_query.message', () => {
    expect(chatInfoOf({ update_id: 1, message: { message_id: 7, chat } })).toEqual({ chatId: 42, messageId: 7 });
    expect(chatInfoOf({ update_id: 1, edited_message: { message_id: 8, chat } })).toEqual({ chatId: 42, messageId: 8 });
    expect(chatInfoOf({ update_id: 1, callback_query: { message: { message_id: 9, chat } } })).toEqual({ chatId: 42, messageId: 9 });
  });

  it('is null without a chat id, and leaves out a missing message id', () => {
    expect(chatInfoOf({ update_id: 1, my_chat_member: { chat } })).toBeNull();
    expect(chatInfoOf({ update_id: 1, callback_query: { id: 'q' } })).toBeNull();
    expect(chatInfoOf({ update_id: 1, message: { chat: {} } })).toBeNull();
    expect(chatInfoOf({ update_id: 1, message: { chat } })).toEqual({ chatId: 42, messageId: undefined });
  });
});

describe('deduplication ids', () => {
  it('deduplicates per bot and update id', () => {
    expect(updateDeduplicationId('0123456789abcdef', 10000001)).toBe('telegram:update:0123456789abcdef:10000001');
  });
});
