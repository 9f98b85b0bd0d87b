import type { FakeHttpServer } from './support/fakes/fake-http-server';
import { fakeSpeech, startFakeElevenLabs, textToSpeechRoute } from './support/fakes/elevenlabs-server';
import { FakeTelegram } from './support/fakes/telegram-server';
import { startTestApp, type TestApp } from './support/test-app';
import { SettingsService } from '../apps/api/src/settings';
import { TelegramBots, TelegramReplies } from '../apps/api/src/telegram';

const TOKEN = '333333:replies-test-token';
const API_KEY = 'replies-test-key';
const VOICE = 'voice-under-test';
const CHAT = 4242;

describe('TelegramReplies: voice when the user spoke and voice output is allowed, else text', () => {
  let telegram: FakeTelegram;
  let elevenLabs: FakeHttpServer;
  let app: TestApp;
  let replies: TelegramReplies;
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
    replies = app.app.get(TelegramReplies);
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
    const medium = await replies.reply(bot(), CHAT, 'a <b> c', { spoken: true, replyToMessageId: 9 });

    expect(medium).toBe('voice');
    const [voice] = telegram.voices(CHAT);
    expect(voice.bytes).toEqual(fakeSpeech(VOICE, 'tts_test', 'a <b> c'));
    expect(voice.fields).toMatchObject({ chat_id: String(CHAT), reply_to_message_id: '9' });
    expect(voice.contentType).toBe('audio/mpeg');
    expect(telegram.messages(CHAT)).toEqual([]);
  });

  it('speaks the speech text when one is given (the plain rendering of an HTML message)', async () => {
    await settings.set('allow_audio_output', true);
    await replies.reply(bot(), CHAT, '<pre><code>x</code></pre>', { spoken: true, speech: 'x' });
    expect(telegram.voices(CHAT)[0].bytes).toEqual(fakeSpeech(VOICE, 'tts_test', 'x'));
  });

  it('writes when allow_audio_output is disabled or missing, or the user typed', async () => {
    await settings.set('allow_audio_output', false);
    expect(await replies.reply(bot(), CHAT, 'one', { spoken: true })).toBe('text');
    await settings.remove('allow_audio_output');
    expect(await replies.reply(bot(), CHAT, 'two', { spoken: true })).toBe('text');
    await settings.set('allow_audio_output', true);
    expect(await replies.reply(bot(), CHAT, 'three & four', { replyToMessageId: 3 })).toBe('text');

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
    expect(await replies.reply(bot(), CHAT, 'after tts failure', { spoken: true })).toBe('text');
    telegram.rejectNext(TOKEN, 'sendVoice', 'Bad Request: VOICE_MESSAGES_FORBIDDEN');
    expect(await replies.reply(bot(), CHAT, 'after upload failure', { spoken: true, text: { parseMode: null } })).toBe('text');

    expect(telegram.messages(CHAT).map((message) => [message.text, message.parse_mode])).toEqual([
      ['after tts failure', 'HTML'],
      ['after upload failure', undefined],
    ]);
    expect(app.logs.lines.filter((line) => String(line.msg).includes('sending text instead'))).toHaveLength(2);
  });

  it('rejects when the text itself cannot be sent', async () => {
    telegram.rejectNext(TOKEN, 'sendMessage', 'Forbidden: bot was blocked by the user', 403);
    await expect(replies.reply(bot(), CHAT, 'lost')).rejects.toThrow('bot was blocked by the user');
  });
});
