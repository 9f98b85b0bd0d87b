import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import request from 'supertest';
import { SettingsService } from '../apps/api/src/settings';
import {
  HELP_TEXT,
  NO_TRANSCRIPT_TEXT,
  pendingRequestKey,
  PROCESSING_TEXT,
  STATUS_TEXT,
  TRANSCRIBING_TEXT,
} from '../apps/api/src/conversation';
import { cursorRunnerProtocol, EXECUTE_ASYNC } from './support/fakes/cursor-runner-server';
import { fakeTranscript, SPEECH_TO_TEXT, startFakeElevenLabs } from './support/fakes/elevenlabs-server';
import { FakeHttpServer, type RecordedRequest } from './support/fakes/fake-http-server';
import { FakeTelegram } from './support/fakes/telegram-server';
import { removeRedisKeys } from './support/redis-keys';
import { freePort } from './support/redis-server';
import { pollUntil } from './support/poll';
import { loadTelegramUpdate, type TelegramUpdateFixture } from './support/telegram-fixtures';
import { startTestApp, testRedisUrl, type TestApp } from './support/test-app';

const TOKEN = '444444:webhook-test-token';
const OTHER_TOKEN = '555555:other-bot-token';
const SECRET = 'test-telegram-secret';
const API_KEY = 'webhook-test-key';
const CHAT = 123456789;
const CALLBACK_BASE = 'http://app.test:3000';
const VOICE_FILE = { fileId: 'AwACAgIAAxkBAAIBZ2d0voiceFileId', filePath: 'voice/file_12.oga', bytes: Buffer.from('OggS fake voice') };

let nextUpdateId = Math.floor(Date.now() / 1000) * 10;

/** A fixture with an update id of its own (update ids are deduplicated) and optional changes. */
function update(name: TelegramUpdateFixture, text?: string): Record<string, unknown> {
  const body = loadTelegramUpdate(name);
  body.update_id = ++nextUpdateId;
  const message = (body.message ?? body.edited_message) as Record<string, unknown> | undefined;
  if (text !== undefined && message) message.text = text;
  return body;
}

function post(baseUrl: string, body: unknown, secret: string | null = SECRET): request.Test {
  const call = request(baseUrl).post('/telegram/webhook');
  return secret === null ? call.send(body as object) : call.set('X-Telegram-Bot-Api-Secret-Token', secret).send(body as object);
}

/** Resolves once the job last queued for `updateId` has finished (completed, or failed for good). */
async function processed(app: TestApp, updateId: unknown, withinMs = 10_000): Promise<void> {
  const queuedLine = new RegExp(`^Received Telegram update ${String(updateId)} .* queued as job (\\S+)$`);
  const finished = (jobId: string) => (line: Record<string, unknown>) =>
    line.msg === `Job ${jobId} of queue telegram-updates completed` ||
    String(line.msg).startsWith(`Job ${jobId} of queue telegram-updates failed for good`);
  const { value } = await pollUntil(
    async () => {
      const jobId = app.logs.lines.map((line) => queuedLine.exec(String(line.msg))?.[1]).filter(Boolean).pop();
      return jobId !== undefined && app.logs.lines.some(finished(jobId));
    },
    Boolean,
    withinMs,
    10,
  );
  if (!value) throw new Error(`update ${String(updateId)} was not processed within ${withinMs} ms`);
}

function messagesOf(telegram: FakeTelegram, token = TOKEN) {
  return telegram.messages(CHAT).filter((message) => message.token === token).map(({ text, parse_mode, reply_to_message_id }) => ({
    text,
    parse_mode,
    reply_to_message_id,
  }));
}

describe('POST /telegram/webhook with Redis (BullMQ)', () => {
  let telegram: FakeTelegram;
  let elevenLabs: FakeHttpServer;
  let cursorRunner: FakeHttpServer;
  let redis: Redis;
  let app: TestApp;
  let settings: SettingsService;
  /** The pending-request JSON in Redis at the moment cursor-runner received each call, by request id. */
  const pendingAtCall = new Map<string, unknown>();

  beforeAll(async () => {
    redis = new Redis(testRedisUrl());
    telegram = await FakeTelegram.start(TOKEN, OTHER_TOKEN);
    telegram.addFile(TOKEN, VOICE_FILE);
    elevenLabs = await startFakeElevenLabs({ apiKey: API_KEY });
    const protocol = cursorRunnerProtocol({ webhookSecret: 'test-webhook-secret' });
    cursorRunner = await FakeHttpServer.start(async (received: RecordedRequest) => {
      const id = (received.body as { id?: unknown }).id;
      if (typeof id === 'string') {
        const json = await redis.get(pendingRequestKey(id));
        pendingAtCall.set(id, json === null ? null : JSON.parse(json));
      }
      return protocol(received);
    });
    app = await startTestApp({
      env: {
        REDIS_URL: testRedisUrl(),
        CACHE_KEY_PREFIX: `t-${randomUUID().slice(0, 8)}`,
        LOG_LEVEL: 'debug',
        TELEGRAM_BOT_TOKEN: TOKEN,
        TELEGRAM_API_BASE_URL: telegram.url,
        ELEVENLABS_API_KEY: API_KEY,
        ELEVENLABS_API_BASE_URL: elevenLabs.url,
        CURSOR_RUNNER_URL: cursorRunner.url,
        CURSOR_RUNNER_CALLBACK_BASE_URL: CALLBACK_BASE,
        QUEUE_CONCURRENCY: '1',
        QUEUE_RETRY_DELAY_MS: '50',
      },
    });
    settings = app.app.get(SettingsService);
  });
  beforeEach(async () => {
    telegram.reset();
    elevenLabs.reset();
    cursorRunner.reset();
    await settings.set('debug', false);
  });
  afterAll(async () => {
    await app.close();
    await removeRedisKeys(testRedisUrl(), `${app.config.queue.prefix}:`);
    await Promise.all([telegram.stop(), elevenLabs.stop(), cursorRunner.stop()]);
    await redis.quit();
  });

  it('answers 200 with an empty body at once, then forwards the text with our callback URL, the pending request stored first', async () => {
    await settings.set('debug', true);
    const body = update('text-message', `Add a README ${randomUUID()}`);
    const response = await post(app.baseUrl, body).expect(200);
    expect(response.text).toBe('');

    await processed(app, body.update_id);
    const [call] = cursorRunner.requestsTo(EXECUTE_ASYNC);
    const sent = call.body as Record<string, unknown>;
    expect(sent).toEqual({
      id: expect.stringMatching(/^telegram-\d{10}-[0-9a-f]{8}$/),
      repository: '',
      branchName: 'main',
      prompt: (body.message as { text: string }).text,
      callbackUrl: `${CALLBACK_BASE}/cursor-runner/callback`,
    });
    expect(call.headers['x-webhook-secret']).toBe('test-webhook-secret');
    expect(pendingAtCall.get(sent.id as string)).toEqual({
      chat_id: CHAT,
      message_id: 101,
      prompt: sent.prompt,
      original_was_audio: false,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(await redis.exists(pendingRequestKey(sent.id as string))).toBe(1);
    expect(messagesOf(telegram)).toEqual([{ text: PROCESSING_TEXT, parse_mode: 'HTML', reply_to_message_id: 101 }]);
  });

  it('answers /help though the user deleted the command meanwhile (Telegram would refuse a bare reply)', async () => {
    const body = update('start-command', '/help');
    telegram.deleteUserMessage(CHAT, 102);
    await post(app.baseUrl, body).expect(200);
    await processed(app, body.update_id);
    expect(telegram.deliveredMessages(CHAT).map((message) => [message.text, message.reply_to_message_id])).toEqual([[HELP_TEXT, 102]]);
  });

  it('waits out Telegram throttling /help (429 retry_after) past the 3 attempts, then answers it once and reports no failure', async () => {
    const throttled = { status: 429, body: { ok: false, error_code: 429, description: 'Too Many Requests: retry after 1', parameters: { retry_after: 1 } } };
    telegram.failNext(TOKEN, 'sendMessage', throttled, throttled, throttled, throttled);
    const body = update('start-command', '/help');
    await post(app.baseUrl, body).expect(200);
    await processed(app, body.update_id, 20_000);
    expect(telegram.calls('sendMessage')).toHaveLength(5);
    expect(telegram.deliveredMessages(CHAT).map((message) => message.text)).toEqual([HELP_TEXT]);
    expect(app.logs.lines.filter((line) => String(line.msg).startsWith(`Telegram throttled update ${String(body.update_id)} (not counted as an attempt)`))).toHaveLength(4);
  }, 30_000);

  it('forwards an edited message like a message, and sends no notice without debug', async () => {
    const body = update('edited-message');
    await post(app.baseUrl, body).expect(200);
    await processed(app, body.update_id);
    expect(cursorRunner.requestsTo(EXECUTE_ASYNC).map((call) => (call.body as { prompt: string }).prompt)).toEqual([
      'Please add a README and a LICENSE to the notes repository',
    ]);
    expect(telegram.messages()).toEqual([]);
  });

  it.each([
    ['/start', HELP_TEXT],
    ['/help', HELP_TEXT],
    ['/status', STATUS_TEXT],
    ['/STATUS please', STATUS_TEXT],
  ])('answers %s here, not forwarding it', async (command, reply) => {
    const body = update('start-command', command);
    await post(app.baseUrl, body).expect(200);
    await processed(app, body.update_id);
    expect(messagesOf(telegram)).toEqual([{ text: reply, parse_mode: 'HTML', reply_to_message_id: 102 }]);
    expect(cursorRunner.requestsTo(EXECUTE_ASYNC)).toEqual([]);
  });

  it('transcribes a voice message and forwards the transcript, saying so in debug mode', async () => {
    await settings.set('debug', true);
    const body = update('voice-message');
    await post(app.baseUrl, body).expect(200);
    await processed(app, body.update_id);

    const transcript = fakeTranscript({ filename: 'file_12.oga', content: VOICE_FILE.bytes } as never);
    const [call] = cursorRunner.requestsTo(EXECUTE_ASYNC);
    expect((call.body as { prompt: string }).prompt).toBe(transcript);
    expect(pendingAtCall.get((call.body as { id: string }).id)).toMatchObject({ prompt: transcript, original_was_audio: true });
    expect(elevenLabs.requestsTo(SPEECH_TO_TEXT)).toHaveLength(1);
    expect(telegram.downloads()).toEqual([{ token: TOKEN, filePath: VOICE_FILE.filePath }]);
    expect(messagesOf(telegram).map((message) => message.text)).toEqual([TRANSCRIBING_TEXT, PROCESSING_TEXT]);
  });

  it('tries a voice message again when ElevenLabs is overloaded, telling the user nothing of it', async () => {
    elevenLabs.enqueue(SPEECH_TO_TEXT, { status: 500, body: { detail: 'model overloaded' } });
    const body = update('voice-message');
    await post(app.baseUrl, body).expect(200);
    await processed(app, body.update_id);

    expect(elevenLabs.requestsTo(SPEECH_TO_TEXT)).toHaveLength(2);
    expect(messagesOf(telegram)).toEqual([]);
    const transcript = fakeTranscript({ filename: 'file_12.oga', content: VOICE_FILE.bytes } as never);
    expect(cursorRunner.requestsTo(EXECUTE_ASYNC).map((call) => (call.body as { prompt: string }).prompt)).toEqual([transcript]);
  });

  it('tells the user why a voice message could not be transcribed (error, or no text)', async () => {
    elevenLabs.enqueue(SPEECH_TO_TEXT, { status: 400, body: { detail: 'audio could not be decoded' } });
    const failing = update('voice-message');
    await post(app.baseUrl, failing).expect(200);
    await processed(app, failing.update_id);
    elevenLabs.enqueue(SPEECH_TO_TEXT, { body: { language_code: 'eng', text: '   ', words: [] } });
    const silent = update('voice-message');
    await post(app.baseUrl, silent).expect(200);
    await processed(app, silent.update_id);

    expect(messagesOf(telegram)).toEqual([
      {
        text: '❌ Error transcribing audio: audio could not be decoded. Please try again or send a text message.',
        parse_mode: 'HTML',
        reply_to_message_id: 103,
      },
      { text: NO_TRANSCRIPT_TEXT, parse_mode: 'HTML', reply_to_message_id: 103 },
    ]);
    expect(cursorRunner.requestsTo(EXECUTE_ASYNC)).toEqual([]);
  });

  it('answers a callback query, then forwards its data; a command as data is echoed', async () => {
    const body = update('callback-query');
    await post(app.baseUrl, body).expect(200);
    await processed(app, body.update_id);
    expect(telegram.calls('answerCallbackQuery').map((call) => call.params)).toEqual([
      { callback_query_id: '4382bfdwdsb323b2d9', text: 'Processing...' },
    ]);
    expect(cursorRunner.requestsTo(EXECUTE_ASYNC).map((call) => (call.body as { prompt: string }).prompt)).toEqual(['run the tests']);
    expect(pendingAtCall.get((cursorRunner.requestsTo(EXECUTE_ASYNC)[0].body as { id: string }).id)).toMatchObject({
      message_id: 105,
      original_was_audio: false,
    });

    const command = update('callback-query');
    (command.callback_query as { data: string }).data = '/status';
    await post(app.baseUrl, command).expect(200);
    await processed(app, command.update_id);
    expect(messagesOf(telegram)).toEqual([{ text: 'You selected: /status', parse_mode: 'HTML', reply_to_message_id: undefined }]);
  });

  it('logs an unsupported update and calls nothing', async () => {
    const body = update('my-chat-member');
    await post(app.baseUrl, body).expect(200);
    await processed(app, body.update_id);
    expect(app.logs.lines.map((line) => line.msg)).toContain(`Unhandled update type (update ${String(body.update_id)}: my_chat_member)`);
    expect(telegram.calls()).toEqual([]);
    expect(cursorRunner.requests).toEqual([]);
  });

  it('answers 401 JSON for a wrong or missing secret, queues nothing and never logs the secret', async () => {
    const body = update('text-message');
    const wrong = await post(app.baseUrl, body, 'not-the-secret').expect(401);
    expect(wrong.body).toEqual({ ok: false, say: 'The Telegram webhook secret is wrong.', result: { error: 'Unauthorized' } });
    const missing = await post(app.baseUrl, body, null).expect(401);
    expect(missing.body).toEqual({
      ok: false,
      say: 'The Telegram webhook secret is missing: send it in the X-Telegram-Bot-Api-Secret-Token header.',
      result: { error: 'Unauthorized' },
    });
    // The same update with the right secret is still new: nothing of it was queued or remembered.
    await post(app.baseUrl, body).expect(200);
    await processed(app, body.update_id);
    expect(cursorRunner.requestsTo(EXECUTE_ASYNC)).toHaveLength(1);
    expect(app.logs.lines.filter((line) => String(line.msg).startsWith('Unauthorized Telegram webhook request')).map((line) => line.msg)).toEqual(
      expect.arrayContaining([
        'Unauthorized Telegram webhook request - invalid secret token (wrong secret)',
        'Unauthorized Telegram webhook request - invalid secret token (no secret sent)',
      ]),
    );
    expect(app.logs.raw.some((line) => line.includes('not-the-secret'))).toBe(false);
  });

  it.each([
    ['an array', [1, 2]],
    ['an object without update_id', { message: { text: 'hi' } }],
    ['a non-integer update_id', { update_id: '12' }],
  ])('answers 400 JSON for %s', async (_what, body) => {
    const response = await post(app.baseUrl, body).expect(400);
    const problem = 'the body must be a Telegram Update: a JSON object with an integer update_id';
    expect(response.body).toEqual({
      ok: false,
      say: `Invalid request: ${problem}`,
      result: { error: 'Bad Request', fields: [{ field: 'update_id', message: problem }] },
    });
  });

  it('processes a repeated update_id once per bot', async () => {
    const body = update('text-message', `once ${randomUUID()}`);
    await post(app.baseUrl, body).expect(200);
    await post(app.baseUrl, body).expect(200);
    const sentinel = update('start-command', '/status');
    await post(app.baseUrl, sentinel).expect(200);
    await processed(app, sentinel.update_id);
    expect(cursorRunner.requestsTo(EXECUTE_ASYNC)).toHaveLength(1);
    expect(app.logs.lines.map((line) => line.msg)).toContain(
      `Ignored a repeated delivery of Telegram update ${String(body.update_id)} (bot default)`,
    );
  });

  it('replies through the bot whose telegram_bots secret the update came with, and remembers it for the callback', async () => {
    const created = await request(app.baseUrl)
      .post('/telegram/bots')
      .set('X-Admin-Secret', 'test-webhook-secret')
      .send({ name: `other-${randomUUID().slice(0, 8)}`, bot_token: OTHER_TOKEN, webhook_secret: 'other-bot-secret' })
      .expect(201);
    const command = update('start-command', '/status');
    await post(app.baseUrl, command, 'other-bot-secret').expect(200);
    await processed(app, command.update_id);
    expect(messagesOf(telegram, OTHER_TOKEN)).toEqual([{ text: STATUS_TEXT, parse_mode: 'HTML', reply_to_message_id: 102 }]);
    expect(messagesOf(telegram, TOKEN)).toEqual([]);

    // The same update_id through the env bot is another update: ids count per bot.
    const text = update('text-message', `via other bot ${randomUUID()}`);
    await post(app.baseUrl, text, 'other-bot-secret').expect(200);
    await processed(app, text.update_id);
    await post(app.baseUrl, text).expect(200);
    await processed(app, text.update_id);
    const ids = cursorRunner.requestsTo(EXECUTE_ASYNC).map((call) => (call.body as { id: string }).id);
    expect(ids).toHaveLength(2);
    expect(ids.map((id) => (pendingAtCall.get(id) as { bot_id?: number }).bot_id)).toEqual([created.body.id, undefined]);
  });

  it('retries when Telegram is down while replying, then tells the user once the last attempt failed', async () => {
    const logsBefore = app.logs.lines.length;
    const badGateway = { status: 502, body: 'Bad Gateway' };
    telegram.failNext(TOKEN, 'sendMessage', badGateway, badGateway, badGateway);
    const body = update('start-command', '/help');
    await post(app.baseUrl, body).expect(200);
    await processed(app, body.update_id);

    const sent = messagesOf(telegram);
    expect(sent.slice(0, 3).map((message) => message.text)).toEqual([HELP_TEXT, HELP_TEXT, HELP_TEXT]);
    expect(sent).toHaveLength(4);
    expect(sent[3]).toEqual({
      text: expect.stringMatching(/^Sorry, I encountered an error processing your message: Telegram sendMessage failed: /),
      parse_mode: 'HTML',
      reply_to_message_id: 102,
    });
    const failures = app.logs.lines.slice(logsBefore).filter((line) => /^Job \S+ of queue telegram-updates failed/.test(String(line.msg)));
    expect(failures.map((line) => [line.level, String(line.msg).replace(/^Job \S+ /, '').split(':')[0]])).toEqual([
      [40, 'of queue telegram-updates failed attempt 1 of 3, retrying in 50 ms'],
      [40, 'of queue telegram-updates failed attempt 2 of 3, retrying in 100 ms'],
      [50, 'of queue telegram-updates failed for good after 3 of 3 attempt(s)'],
    ]);
  });

  it('never forwards twice when a retry follows a forward: only the failed reply is sent again', async () => {
    cursorRunner.enqueue(EXECUTE_ASYNC, { status: 500, body: { success: false, error: 'runner is busy' } });
    telegram.failNext(TOKEN, 'sendMessage', { status: 502, body: 'Bad Gateway' });
    const body = update('text-message', `forward once ${randomUUID()}`);
    await post(app.baseUrl, body).expect(200);
    await processed(app, body.update_id);

    expect(cursorRunner.requestsTo(EXECUTE_ASYNC)).toHaveLength(1);
    expect(messagesOf(telegram).map((message) => message.text)).toEqual([
      '❌ Error: Failed to execute cursor command. runner is busy',
      '❌ Error: Failed to execute cursor command. runner is busy',
    ]);
    const id = (cursorRunner.requestsTo(EXECUTE_ASYNC)[0].body as { id: string }).id;
    expect(pendingAtCall.get(id)).not.toBeNull();
    expect(await redis.exists(pendingRequestKey(id))).toBe(0);
  });

  it("cuts a cursor-runner refusal quoted in the notice to Telegram's limit, which would refuse the whole message", async () => {
    const refusal = `invalid prompt: ${'<x>&'.repeat(5_000)}`;
    cursorRunner.enqueue(EXECUTE_ASYNC, { status: 422, body: { success: false, error: refusal } });
    const body = update('text-message', `refused at length ${randomUUID()}`);
    await post(app.baseUrl, body).expect(200);
    await processed(app, body.update_id);

    const [notice] = telegram.deliveredMessages(CHAT);
    expect(telegram.calls('sendMessage')).toHaveLength(1);
    const shown = String(notice.text).replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
    expect(Array.from(shown)).toHaveLength(4_096);
    expect(shown).toMatch(/^❌ Error: Failed to execute cursor command\. invalid prompt: <x>&<x>&.*…$/s);
  });

  it('does not retry when Telegram refuses the reply itself (bot blocked)', async () => {
    telegram.rejectNext(TOKEN, 'sendMessage', 'Forbidden: bot was blocked by the user', 403);
    telegram.rejectNext(TOKEN, 'sendMessage', 'Forbidden: bot was blocked by the user', 403);
    const body = update('start-command', '/status');
    await post(app.baseUrl, body).expect(200);
    await processed(app, body.update_id);
    expect(messagesOf(telegram).map((message) => message.text)).toEqual([
      STATUS_TEXT,
      'Sorry, I encountered an error processing your message: Telegram API error: Forbidden: bot was blocked by the user',
    ]);
  });
});

describe('POST /telegram/webhook when cursor-runner is down', () => {
  let telegram: FakeTelegram;
  let redis: Redis;
  let app: TestApp;

  beforeAll(async () => {
    redis = new Redis(testRedisUrl());
    telegram = await FakeTelegram.start(TOKEN);
    app = await startTestApp({
      env: {
        REDIS_URL: testRedisUrl(),
        CACHE_KEY_PREFIX: `t-${randomUUID().slice(0, 8)}`,
        LOG_LEVEL: 'debug',
        TELEGRAM_BOT_TOKEN: TOKEN,
        TELEGRAM_API_BASE_URL: telegram.url,
        CURSOR_RUNNER_URL: `http://127.0.0.1:${await freePort()}`,
      },
    });
  });
  afterAll(async () => {
    await app.close();
    await removeRedisKeys(testRedisUrl(), `${app.config.queue.prefix}:`);
    await telegram.stop();
    await redis.quit();
  });

  it('tells the user forwarding failed and removes the pending request', async () => {
    const body = update('text-message');
    await post(app.baseUrl, body).expect(200);
    await processed(app, body.update_id);

    const [sent] = messagesOf(telegram);
    expect(sent).toEqual({
      text: expect.stringMatching(/^❌ Error: Failed to execute cursor command\. Failed to connect to cursor-runner: .*ECONNREFUSED/),
      parse_mode: 'HTML',
      reply_to_message_id: 101,
    });
    const warning = app.logs.lines
      .map((line) => /^Failed to send Telegram message to cursor-runner \(requestId: (\S+)\)/.exec(String(line.msg))?.[1])
      .find(Boolean);
    expect(warning).toMatch(/^telegram-\d+-[0-9a-f]{8}$/);
    expect(await redis.exists(pendingRequestKey(warning!))).toBe(0);
  });
});

describe('POST /telegram/webhook in the embedded mode (no Redis: in-process queue)', () => {
  let telegram: FakeTelegram;
  let cursorRunner: FakeHttpServer;
  let app: TestApp;

  beforeAll(async () => {
    telegram = await FakeTelegram.start(TOKEN);
    cursorRunner = await FakeHttpServer.start(cursorRunnerProtocol());
    app = await startTestApp({
      env: {
        LOG_LEVEL: 'debug',
        TELEGRAM_BOT_TOKEN: TOKEN,
        TELEGRAM_API_BASE_URL: telegram.url,
        CURSOR_RUNNER_URL: cursorRunner.url,
        ELEVENLABS_API_KEY: undefined,
      },
    });
  });
  afterAll(async () => {
    await app.close();
    await Promise.all([telegram.stop(), cursorRunner.stop()]);
  });

  it('forwards text, answers commands, drops repeats, and says when it cannot listen to voice', async () => {
    const text = update('text-message');
    const command = update('start-command', '/status');
    const voice = update('voice-message');
    await post(app.baseUrl, text).expect(200);
    await post(app.baseUrl, text).expect(200);
    await post(app.baseUrl, command).expect(200);
    await post(app.baseUrl, voice).expect(200);
    await processed(app, text.update_id);
    await processed(app, command.update_id);
    await processed(app, voice.update_id);

    expect(cursorRunner.requestsTo(EXECUTE_ASYNC).map((call) => (call.body as { prompt: string }).prompt)).toEqual([
      'Please add a README to the notes repository',
    ]);
    expect(messagesOf(telegram).map((message) => message.text).sort()).toEqual(
      [
        STATUS_TEXT,
        "❌ Sorry, I can't listen to voice messages here: speech-to-text is not configured. Please send a text message.",
      ].sort(),
    );
    expect(telegram.downloads()).toEqual([]);
  });
});

describe('POST /telegram/webhook on shutdown', () => {
  it('lets a running job finish before the app closes', async () => {
    const telegram = await FakeTelegram.start(TOKEN);
    const cursorRunner = await FakeHttpServer.start(cursorRunnerProtocol());
    const app = await startTestApp({
      env: {
        REDIS_URL: testRedisUrl(),
        CACHE_KEY_PREFIX: `t-${randomUUID().slice(0, 8)}`,
        LOG_LEVEL: 'debug',
        TELEGRAM_BOT_TOKEN: TOKEN,
        TELEGRAM_API_BASE_URL: telegram.url,
        CURSOR_RUNNER_URL: cursorRunner.url,
      },
    });
    try {
      cursorRunner.enqueue(EXECUTE_ASYNC, {
        body: { success: true, message: 'Request accepted, processing asynchronously', requestId: 'slow', timestamp: new Date().toISOString() },
        delayMs: 300,
      });
      const body = update('text-message');
      await post(app.baseUrl, body).expect(200);
      await cursorRunner.waitForRequests(1);
      await app.close();

      const completed = app.logs.lines.some((line) => /^Job \S+ of queue telegram-updates completed$/.test(String(line.msg)));
      expect(completed).toBe(true);
      expect(app.logs.lines.map((line) => line.msg)).toContainEqual(expect.stringMatching(/^Forwarded to cursor-runner \(requestId: telegram-/));
    } finally {
      await removeRedisKeys(testRedisUrl(), `${app.config.queue.prefix}:`);
      await Promise.all([telegram.stop(), cursorRunner.stop()]);
    }
  });
});
