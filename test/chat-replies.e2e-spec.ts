import type { FakeHttpServer } from './support/fakes/fake-http-server';
import { fakeSpeech, startFakeElevenLabs, textToSpeechRoute } from './support/fakes/elevenlabs-server';
import { FakeTelegram } from './support/fakes/telegram-server';
import { startTestApp, type TestApp } from './support/test-app';
import { SettingsService } from '../apps/api/src/settings';
import { ChatReplies, plainMessage } from '../apps/api/src/conversation';
import { TelegramBots } from '../apps/api/src/telegram';

const TOKEN = '333333:replies-test-token';
const API_KEY = 'replies-test-key';
const VOICE = 'voice-under-test';
const CHAT = 4242;

describe('ChatReplies: voice when the user spoke and voice output is allowed, else text', () => {
  let telegram: FakeTelegram;
  let elevenLabs: FakeHttpServer;
  let app: TestApp;
  let replies: ChatReplies;
  let settings: SettingsService;

  beforeAll(async () => {
    telegram = await FakeTelegram.start(TOKEN);
    elevenLabs = await startFakeElevenLabs({ apiKey: API_KEY });
    app = await startTestApp({
      env: {
        TELEGRAM_BOT_TOKEN: TOKEN,
        TELEGRAM_API_BASE_URL: telegram.url,
        ELEVENLABS_API_KEY: API_KEY,
        ELEVENLABS_API_BASE_URL: elevenLabs.url,
        ELEVENLABS_VOICE_ID: VOICE,
        ELEVENLABS_TTS_MODEL_ID: 'tts_test',
      },
    });
    replies = app.app.get(ChatReplies);
    settings = app.app.get(SettingsService);
  });
  beforeEach(() => {
    telegram.reset();
    elevenLabs.reset();
  });
  afterAll(async () => {
    await app.close();
    await Promise.all([telegram.stop(), elevenLabs.stop()]);
  });

  const bot = () => app.app.get(TelegramBots).defaultBot();

  it('speaks to a user who spoke when allow_audio_output is enabled', async () => {
    await settings.set('allow_audio_output', true);
    const medium = await replies.reply(bot(), CHAT, plainMessage('a <b> c'), { spoken: true, replyToMessageId: 9 });

    expect(medium).toBe('voice');
    const [voice] = telegram.voices(CHAT);
    expect(voice.bytes).toEqual(fakeSpeech(VOICE, 'tts_test', 'a <b> c'));
    expect(voice).toMatchObject({ fields: { chat_id: String(CHAT) }, reply_to_message_id: 9 });
    expect(voice.contentType).toBe('audio/mpeg');
    expect(telegram.messages(CHAT)).toEqual([]);
  });

  it('speaks the plain rendering of an HTML message', async () => {
    await settings.set('allow_audio_output', true);
    await replies.reply(bot(), CHAT, { html: '<pre><code>x</code></pre>', plain: 'x' }, { spoken: true });
    expect(telegram.voices(CHAT)[0].bytes).toEqual(fakeSpeech(VOICE, 'tts_test', 'x'));
  });

  it('writes when allow_audio_output is disabled or missing, or the user typed', async () => {
    await settings.set('allow_audio_output', false);
    expect(await replies.reply(bot(), CHAT, plainMessage('one'), { spoken: true })).toBe('text');
    await settings.remove('allow_audio_output');
    expect(await replies.reply(bot(), CHAT, plainMessage('two'), { spoken: true })).toBe('text');
    await settings.set('allow_audio_output', true);
    expect(await replies.reply(bot(), CHAT, plainMessage('three & four'), { replyToMessageId: 3 })).toBe('text');

    expect(telegram.voices(CHAT)).toEqual([]);
    expect(elevenLabs.requestsTo(textToSpeechRoute(VOICE))).toEqual([]);
    expect(telegram.messages(CHAT).map((message) => [message.text, message.parse_mode, message.reply_to_message_id])).toEqual([
      ['one', 'HTML', undefined],
      ['two', 'HTML', undefined],
      ['three &amp; four', 'HTML', 3],
    ]);
  });

  it('falls back to text when synthesis fails, and when Telegram refuses the voice', async () => {
    await settings.set('allow_audio_output', true);
    elevenLabs.enqueue(textToSpeechRoute(VOICE), { status: 500, body: { detail: 'overloaded' } });
    expect(await replies.reply(bot(), CHAT, plainMessage('after tts failure'), { spoken: true })).toBe('text');
    telegram.rejectNext(TOKEN, 'sendVoice', 'Bad Request: VOICE_MESSAGES_FORBIDDEN');
    expect(await replies.reply(bot(), CHAT, plainMessage('after upload failure'), { spoken: true })).toBe('text');

    expect(telegram.messages(CHAT).map((message) => [message.text, message.parse_mode])).toEqual([
      ['after tts failure', 'HTML'],
      ['after upload failure', 'HTML'],
    ]);
    expect(app.logs.lines.filter((line) => String(line.msg).includes('sending text instead'))).toHaveLength(2);
  });

  it('rejects when the text itself cannot be sent', async () => {
    telegram.rejectNext(TOKEN, 'sendMessage', 'Forbidden: bot was blocked by the user', 403);
    await expect(replies.reply(bot(), CHAT, plainMessage('lost'))).rejects.toThrow('bot was blocked by the user');
  });

  it('sends the plain rendering without a parse mode when Telegram refuses the HTML', async () => {
    telegram.rejectNext(TOKEN, 'sendMessage', "Bad Request: can't parse entities: Unexpected end tag at byte offset 3", 400);
    expect(await replies.reply(bot(), CHAT, { html: '<b>x', plain: 'x' }, { replyToMessageId: 5 })).toBe('text');
    expect(telegram.messages(CHAT).map((message) => [message.text, message.parse_mode, message.reply_to_message_id])).toEqual([
      ['<b>x', 'HTML', 5],
      ['x', undefined, 5],
    ]);
  });

  it('says a notice and swallows its failure', async () => {
    await replies.say(bot(), CHAT, 'a < b', 4);
    telegram.rejectNext(TOKEN, 'sendMessage', 'Forbidden: bot was blocked by the user', 403);
    await replies.notify(bot(), CHAT, 'lost notice');
    expect(telegram.messages(CHAT).map((message) => [message.text, message.parse_mode, message.reply_to_message_id])).toEqual([
      ['a &lt; b', 'HTML', 4],
      ['lost notice', 'HTML', undefined],
    ]);
    expect(app.logs.lines.filter((line) => String(line.msg).includes('Could not send a notice'))).toHaveLength(1);
  });
});
