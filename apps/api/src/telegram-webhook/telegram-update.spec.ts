import {
  audioOf,
  chatInfoOf,
  failureText,
  fieldsOf,
  forwardErrorText,
  HELP_TEXT,
  isLocalCommand,
  isTelegramUpdate,
  kindOf,
  localReplyTo,
  newTelegramRequestId,
  STATUS_TEXT,
  transcriptionErrorText,
  type TelegramUpdate,
} from './telegram-update';
import { updateDeduplicationId } from './telegram-updates.queue';

const chat = { id: 42, type: 'private' };

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

describe('local commands', () => {
  it('matches /start, /help and /status as a case-insensitive prefix, as the original did', () => {
    for (const text of ['/start', '/help me', '/STATUS', '/statusfoo']) expect(isLocalCommand(text)).toBe(true);
    for (const text of ['start', 'please /help', ' /start', '/stop']) expect(isLocalCommand(text)).toBe(false);
  });

  it('answers with the original texts', () => {
    expect(localReplyTo('/start')).toBe(
      "Hello! I'm your Virtual Assistant. Send me a message and I'll help you out.\n\nAvailable commands:\n/help - Show this message\n/status - Check my status",
    );
    expect(localReplyTo('  /HELP ')).toBe(HELP_TEXT);
    expect(localReplyTo('/status')).toBe("✅ I'm online and ready to help!");
    expect(localReplyTo('/Status now')).toBe(STATUS_TEXT);
    expect(localReplyTo('')).toBe("I received your message: \n\nI'm still learning how to process messages. More features coming soon!");
  });
});

describe('texts', () => {
  it('cuts a transcription error to 4000 characters', () => {
    expect(transcriptionErrorText('quota exceeded')).toBe(
      '❌ Error transcribing audio: quota exceeded. Please try again or send a text message.',
    );
    const long = transcriptionErrorText('x'.repeat(4001));
    expect(long).toBe(`❌ Error transcribing audio: ${'x'.repeat(4000)}.... Please try again or send a text message.`);
    expect(transcriptionErrorText('y'.repeat(4000))).toContain(`${'y'.repeat(4000)}. Please`);
  });

  it('words forward and processing failures as the original', () => {
    expect(forwardErrorText('HTTP 500: Internal Server Error')).toBe(
      '❌ Error: Failed to execute cursor command. HTTP 500: Internal Server Error',
    );
    expect(failureText('message', 'boom')).toBe('Sorry, I encountered an error processing your message: boom');
    expect(failureText('edited_message', 'boom')).toBe('Sorry, I encountered an error processing your message: boom');
    expect(failureText('callback_query', 'boom')).toBe('Sorry, I encountered an error processing your callback: boom');
  });
});

describe('ids', () => {
  it('names a forwarded message telegram-<unix seconds>-<8 hex>', () => {
    const id = newTelegramRequestId(new Date('2026-01-02T03:04:05.678Z'));
    expect(id).toMatch(/^telegram-1767323045-[0-9a-f]{8}$/);
    expect(newTelegramRequestId()).not.toBe(newTelegramRequestId());
  });

  it('deduplicates per bot and update id', () => {
    expect(updateDeduplicationId('0123456789abcdef', 10000001)).toBe('telegram:update:0123456789abcdef:10000001');
  });
});
