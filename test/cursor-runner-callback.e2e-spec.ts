import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Redis from 'ioredis';
import request from 'supertest';
import type { JobQueue } from '@app/queue';
import { DeliverResult, deliveryClaimKey, PendingRequestStore, RESULT_DELIVERIES_QUEUE, type PendingRequest } from '../apps/api/src/conversation';
import { SettingsService } from '../apps/api/src/settings';
import type { FakeHttpServer, FakeReply } from './support/fakes/fake-http-server';
import { fakeSpeech, startFakeElevenLabs } from './support/fakes/elevenlabs-server';
import { FakeTelegram } from './support/fakes/telegram-server';
import { storeWaitingRequest } from './support/pending-requests';
import { pollUntil } from './support/poll';
import { openRaw } from './support/raw-http';
import { freePort } from './support/redis-server';
import { startTestApp, testRedisUrl, type TestApp } from './support/test-app';

const SECRET = 'callback-test-secret';
const TOKEN = '444444:callback-env-bot';
const OTHER_TOKEN = '555555:callback-helpdesk-bot';
const API_KEY = 'callback-test-key';
const VOICE = 'callback-voice';
const TTS_MODEL = 'tts_callback';
const ADMIN = { 'X-Admin-Secret': SECRET };

let nextChat = 7_000_000;

/** A sendMessage answer as Telegram gives it, for replies a test scripts. */
function sent(chatId: number): FakeReply {
  return {
    body: { ok: true, result: { message_id: 1, date: Math.floor(Date.now() / 1000), chat: { id: chatId, type: 'private' } } },
  };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

function appEnv(telegram: FakeTelegram, elevenLabs: FakeHttpServer, extra: Record<string, string> = {}) {
  return {
    REDIS_URL: testRedisUrl(),
    CACHE_KEY_PREFIX: `cb-${randomUUID().slice(0, 8)}`,
    WEBHOOK_SECRET: SECRET,
    TELEGRAM_BOT_TOKEN: TOKEN,
    TELEGRAM_API_BASE_URL: telegram.url,
    TELEGRAM_TIMEOUT_MS: '5000',
    ELEVENLABS_API_KEY: API_KEY,
    ELEVENLABS_API_BASE_URL: elevenLabs.url,
    ELEVENLABS_VOICE_ID: VOICE,
    ELEVENLABS_TTS_MODEL_ID: TTS_MODEL,
    CALLBACK_DELIVERY_RETRY_DELAY_MS: '20',
    ...extra,
  };
}

describe('POST /cursor-runner/callback', () => {
  let telegram: FakeTelegram;
  let elevenLabs: FakeHttpServer;
  let app: TestApp;
  let store: PendingRequestStore;
  let deliveries: DeliverResult;
  let settings: SettingsService;
  let redis: Redis;

  beforeAll(async () => {
    telegram = await FakeTelegram.start(TOKEN, OTHER_TOKEN);
    elevenLabs = await startFakeElevenLabs({ apiKey: API_KEY });
    app = await startTestApp({ env: appEnv(telegram, elevenLabs) });
    store = app.app.get(PendingRequestStore);
    deliveries = app.app.get(DeliverResult);
    settings = app.app.get(SettingsService);
    redis = new Redis(testRedisUrl());
  });
  beforeEach(async () => {
    telegram.reset();
    elevenLabs.reset();
    await settings.set('debug', false);
    await settings.set('allow_audio_output', false);
  });
  afterAll(async () => {
    await app.close();
    await redis.quit();
    await Promise.all([telegram.stop(), elevenLabs.stop()]);
  });

  /** Stores a pending request as the Telegram flow would; returns its id and what was stored. */
  async function storePending(overrides: Partial<PendingRequest> = {}): Promise<{ id: string; pending: PendingRequest }> {
    const id = `telegram-${Math.floor(Date.now() / 1000)}-${randomUUID().slice(0, 8)}`;
    const pending: PendingRequest = {
      chatId: nextChat++,
      messageId: 77,
      prompt: 'fix the build',
      originalWasAudio: false,
      createdAt: new Date().toISOString(),
      botId: null,
      ...overrides,
    };
    await store.store(id, pending);
    return { id, pending };
  }

  const callback = (body: object, path = '/cursor-runner/callback') =>
    request(app.baseUrl).post(path).set('X-Webhook-Secret', SECRET).send(body);

  const pendingKeys = (id: string) => redis.exists(`cursor_runner_callback:${id}`, `{cursor_runner_callback:${id}}:delivering`);

  /** Posts the callback, waits for its delivery, returns what Telegram received in the chat. */
  async function deliver(body: object, chatId: number) {
    await callback(body).expect(200, { received: true, request_id: (body as { requestId?: string; request_id?: string }).requestId ?? (body as { request_id: string }).request_id });
    await deliveries.settled();
    return telegram.messages(chatId);
  }

  const logged = (pattern: RegExp) => app.logs.lines.filter((line) => pattern.test(String(line.msg)));

  describe('delivers the result as the message Telegram renders, then deletes the pending request', () => {
    it('success (camelCase), normal mode: the output alone, escaped once, replying to the message', async () => {
      const { id, pending } = await storePending();
      const messages = await deliver(
        {
          success: true,
          requestId: id,
          repository: 'jarek-va',
          branchName: 'main',
          output: '\u001b[32mAll 12 tests pass\u001b[0m: a < b && c > d',
          error: null,
          exitCode: 0,
          duration: '5210ms',
          timestamp: '2025-12-21T10:00:00.000Z',
          command: ['cursor-agent', '--print'],
        },
        pending.chatId,
      );
      expect(messages).toEqual([
        {
          token: TOKEN,
          chat_id: pending.chatId,
          text: 'All 12 tests pass: a &lt; b &amp;&amp; c &gt; d',
          parse_mode: 'HTML',
          reply_to_message_id: 77,
          params: expect.any(Object),
        },
      ]);
      expect(await pendingKeys(id)).toBe(0);
      expect(logged(new RegExp(`^Delivered cursor-runner result ${id} to chat ${pending.chatId} as text \\(try 1/3\\)$`))).toHaveLength(1);
    });

    it('success (snake_case, iterate era), debug mode: figures and real <pre><code> blocks', async () => {
      await settings.set('debug', true);
      const { id, pending } = await storePending();
      const messages = await deliver(
        {
          success: 'true',
          request_id: id,
          repository: 'jarek-va',
          branch_name: 'main',
          iterations: 3,
          max_iterations: 25,
          output: 'if (a < b) { return "x & y"; }',
          error: 'warning: <deprecated>',
          exit_code: 0,
          duration: '812ms',
          timestamp: '2025-11-16T10:00:00.000Z',
        },
        pending.chatId,
      );
      expect(messages.map((message) => [message.text, message.parse_mode])).toEqual([
        [
          '✅ Cursor command completed successfully\n📊 Iterations: 3\n⏱ Duration: 812ms\n\n📝 Output:\n' +
            '<pre><code>if (a &lt; b) { return "x &amp; y"; }</code></pre>\n\n⚠️ Warnings:\n<pre><code>warning: &lt;deprecated&gt;</code></pre>',
          'HTML',
        ],
      ]);
      expect(await pendingKeys(id)).toBe(0);
    });

    it('failure: ❌ with the exit code and the error, normal and debug mode', async () => {
      const failure = (id: string) => ({
        success: false,
        requestId: id,
        repository: 'missing-repo',
        error: 'Repository not found locally: missing-repo. Please ensure the repository exists in the repositories directory.',
        exitCode: 1,
        duration: '0ms',
        timestamp: '2025-12-21T10:00:00.000Z',
      });
      const normal = await storePending();
      expect((await deliver(failure(normal.id), normal.pending.chatId)).map((message) => message.text)).toEqual([
        '❌ Failed with exit code 1\nRepository not found locally: missing-repo. Please ensure the repository exists in the repositories directory.',
      ]);
      await settings.set('debug', true);
      const debug = await storePending();
      expect((await deliver(failure(debug.id), debug.pending.chatId)).map((message) => message.text)).toEqual([
        '❌ Cursor command failed with exit code 1\n⏱ Duration: 0ms\n\n⚠️ Error output:\n<pre><code>Repository not found locally: missing-repo. Please ensure the repository exists in the repositories directory.</code></pre>',
      ]);
      expect(await pendingKeys(normal.id)).toBe(0);
      expect(await pendingKeys(debug.id)).toBe(0);
    });

    it('crash (the minimal body, snake_case id)', async () => {
      const { id, pending } = await storePending();
      const messages = await deliver(
        { success: false, request_id: id, error: 'cursor-agent exited: <signal SIGKILL>', timestamp: '2025-12-21T10:00:00.000Z' },
        pending.chatId,
      );
      expect(messages.map((message) => [message.text, message.parse_mode])).toEqual([
        ['❌ cursor-agent exited: &lt;signal SIGKILL&gt;', 'HTML'],
      ]);
      expect(await pendingKeys(id)).toBe(0);
    });

    it('reads a form-encoded body too, its values as text', async () => {
      const { id, pending } = await storePending();
      await request(app.baseUrl)
        .post('/cursor-runner/callback')
        .set('X-Webhook-Secret', SECRET)
        .type('form')
        .send({ success: 'false', request_id: id, error: 'from a form', exit_code: '1' })
        .expect(200, { received: true, request_id: id });
      await deliveries.settled();
      expect(telegram.messages(pending.chatId).map((message) => message.text)).toEqual(['❌ Failed with exit code 1\nfrom a form']);
    });

    it("a run whose agent exited non-zero is a failure though cursor-runner says success: true (its real callback)", async () => {
      const { id, pending } = await storePending();
      const recorded = JSON.parse(
        fs.readFileSync(path.join(__dirname, 'fixtures', 'cursor-runner', 'callback-finished-exit-1.json'), 'utf8'),
      ) as { body: Record<string, unknown> };
      const messages = await deliver({ ...recorded.body, requestId: id }, pending.chatId);
      expect(messages.map((message) => message.text)).toEqual([
        '❌ Failed with exit code 1\nError: Authentication required. Please run cursor-agent login first.\naaaaaaaaaaaaline "quoted"\n\ttab',
      ]);
      expect(await pendingKeys(id)).toBe(0);
    });

    it('a successful run without output says so instead of sending an empty message', async () => {
      const { id, pending } = await storePending();
      const messages = await deliver({ success: true, requestId: id, output: '', exitCode: 0 }, pending.chatId);
      expect(messages.map((message) => message.text)).toEqual(['✅ Done (no output).']);
    });

    it('delivers the result though the user deleted the message it answers (Telegram would refuse a bare reply)', async () => {
      const { id, pending } = await storePending();
      telegram.deleteUserMessage(pending.chatId, pending.messageId);
      const messages = await deliver({ success: true, requestId: id, output: 'still yours', exitCode: 0 }, pending.chatId);
      expect(telegram.deliveredMessages(pending.chatId).map((message) => message.text)).toEqual(['still yours']);
      expect(messages.map((message) => message.params.reply_parameters)).toEqual([{ message_id: pending.messageId, allow_sending_without_reply: true }]);
      expect(await pendingKeys(id)).toBe(0);
    });

    it('sends plain text without a parse mode when Telegram refuses the HTML', async () => {
      await settings.set('debug', true);
      const { id, pending } = await storePending();
      telegram.rejectNext(TOKEN, 'sendMessage', "Bad Request: can't parse entities: Unsupported start tag \"x\" at byte offset 40");
      const messages = await deliver({ success: true, requestId: id, iterations: 1, output: 'a < b', duration: '9ms' }, pending.chatId);
      expect(messages.map((message) => [message.text, message.parse_mode, message.reply_to_message_id])).toEqual([
        ['✅ Cursor command completed successfully\n📊 Iterations: 1\n⏱ Duration: 9ms\n\n📝 Output:\n<pre><code>a &lt; b</code></pre>', 'HTML', 77],
        ['✅ Cursor command completed successfully\n📊 Iterations: 1\n⏱ Duration: 9ms\n\n📝 Output:\na < b', undefined, 77],
      ]);
      expect(await pendingKeys(id)).toBe(0);
    });
  });

  describe('voice', () => {
    it('speaks the plain rendering when the request came from audio and allow_audio_output is on', async () => {
      await settings.set('allow_audio_output', true);
      await settings.set('debug', true);
      const { id, pending } = await storePending({ originalWasAudio: true });
      await callback({ success: true, requestId: id, iterations: 2, output: 'x < y', duration: '1ms' }).expect(200);
      await deliveries.settled();
      const [voice] = telegram.voices(pending.chatId);
      expect(voice.bytes).toEqual(
        fakeSpeech(VOICE, TTS_MODEL, '✅ Cursor command completed successfully\n📊 Iterations: 2\n⏱ Duration: 1ms\n\n📝 Output:\nx < y'),
      );
      expect(voice).toMatchObject({ fields: { chat_id: String(pending.chatId) }, reply_to_message_id: 77 });
      expect(telegram.messages(pending.chatId)).toEqual([]);
      expect(await pendingKeys(id)).toBe(0);
    });

    it('writes when allow_audio_output is off', async () => {
      const { id, pending } = await storePending({ originalWasAudio: true });
      const messages = await deliver({ success: true, requestId: id, output: 'done' }, pending.chatId);
      expect(messages.map((message) => message.text)).toEqual(['done']);
      expect(telegram.voices(pending.chatId)).toEqual([]);
    });
  });

  describe('bots', () => {
    it('answers through the telegram_bots bot the message came through, and not at all once it is deactivated', async () => {
      const created = await request(app.baseUrl)
        .post('/telegram/bots')
        .set(ADMIN)
        .send({ name: `helpdesk-${randomUUID().slice(0, 6)}`, bot_token: OTHER_TOKEN, webhook_secret: `hs-${randomUUID()}` })
        .expect(201);
      const botId = (created.body as { id: number }).id;
      const first = await storePending({ botId });
      const messages = await deliver({ success: true, requestId: first.id, output: 'from the helpdesk bot' }, first.pending.chatId);
      expect(messages.map((message) => [message.token, message.text])).toEqual([[OTHER_TOKEN, 'from the helpdesk bot']]);

      await request(app.baseUrl).patch(`/telegram/bots/${botId}`).set(ADMIN).send({ active: false }).expect(200);
      const second = await storePending({ botId });
      await callback({ success: true, requestId: second.id, output: 'nobody hears this' }).expect(200);
      await deliveries.settled();
      expect(telegram.calls()).toHaveLength(1);
      expect(await redis.exists(`cursor_runner_callback:${second.id}`)).toBe(1);
      expect(logged(new RegExp(`^Could not deliver cursor-runner result ${second.id} .*Telegram bot ${botId} is gone or deactivated`))).toHaveLength(1);
    });
  });

  describe('when Telegram fails', () => {
    it('tries again after transient failures and deletes the pending request once delivered', async () => {
      const { id, pending } = await storePending();
      telegram.failNext(
        TOKEN,
        'sendMessage',
        { status: 502, body: '<html>Bad Gateway</html>' },
        { status: 500, body: { ok: false, error_code: 500, description: 'Internal Server Error' } },
      );
      const messages = await deliver({ success: true, requestId: id, output: 'third time lucky' }, pending.chatId);
      expect(messages.map((message) => message.text)).toEqual(['third time lucky', 'third time lucky', 'third time lucky']);
      expect(await pendingKeys(id)).toBe(0);
      expect(logged(new RegExp(`^Delivery of cursor-runner result ${id} .*failed \\(try [12]/3\\), trying again in (20|40) ms`))).toHaveLength(2);
    });

    it('waits as long as a 429 asks before trying again', async () => {
      const { id, pending } = await storePending();
      telegram.failNext(TOKEN, 'sendMessage', {
        status: 429,
        body: { ok: false, error_code: 429, description: 'Too Many Requests: retry after 1', parameters: { retry_after: 1 } },
      });
      await deliver({ success: true, requestId: id, output: 'after the rate limit' }, pending.chatId);
      expect(logged(new RegExp(`^Delivery of cursor-runner result ${id} .*trying again in 1000 ms: Telegram API error: Too Many Requests`))).toHaveLength(1);
      expect(telegram.messages(pending.chatId)).toHaveLength(2);
      expect(await pendingKeys(id)).toBe(0);
    });

    it('gives up after the last try, logs it with the request id and keeps the pending request for a replay', async () => {
      const { id, pending } = await storePending();
      const down: FakeReply = { status: 503, body: { ok: false, error_code: 503, description: 'Service Unavailable' } };
      telegram.failNext(TOKEN, 'sendMessage', down, down, down);
      await deliver({ success: true, requestId: id, output: 'lost for now' }, pending.chatId);
      expect(telegram.messages(pending.chatId)).toHaveLength(3);
      expect(await redis.exists(`cursor_runner_callback:${id}`)).toBe(1);
      expect(await redis.exists(`{cursor_runner_callback:${id}}:delivering`)).toBe(0);
      expect(app.logs.lines).toContainEqual(
        expect.objectContaining({
          level: 50,
          requestId: id,
          msg: `Could not deliver cursor-runner result ${id} to chat ${pending.chatId} after 3 send(s): Telegram API error: Service Unavailable; the pending request stays until its TTL for a replay`,
        }),
      );

      // The operator replays the callback once Telegram is back: delivered, then deleted.
      await deliver({ success: true, requestId: id, output: 'lost for now' }, pending.chatId);
      expect(telegram.messages(pending.chatId)).toHaveLength(4);
      expect(await pendingKeys(id)).toBe(0);
    });

    it('does not retry a refusal: tells the user the result failed and keeps the pending request', async () => {
      const { id, pending } = await storePending();
      telegram.rejectNext(TOKEN, 'sendMessage', 'Bad Request: message is too long');
      const messages = await deliver({ success: true, requestId: id, output: 'too much' }, pending.chatId);
      expect(messages.map((message) => [message.text, message.parse_mode, message.reply_to_message_id])).toEqual([
        ['too much', 'HTML', 77],
        ['❌ Error processing cursor command result: Telegram API error: Bad Request: message is too long', 'HTML', 77],
      ]);
      expect(await redis.exists(`cursor_runner_callback:${id}`)).toBe(1);
    });
  });

  describe('answers cursor-runner at once', () => {
    it('answers before Telegram has answered, and delivers afterwards', async () => {
      const { id, pending } = await storePending();
      const telegramAnswer = deferred();
      telegram.failNext(TOKEN, 'sendMessage', { ...sent(pending.chatId), release: telegramAnswer.promise });

      await callback({ success: true, requestId: id, output: 'slow telegram' }).expect(200, { received: true, request_id: id });
      // The delivery job starts once a worker takes it: the send is then held at Telegram, unanswered.
      await telegram.http.waitForRequests(1);
      expect(deliveries.size).toBe(1);
      expect(await redis.exists(`cursor_runner_callback:${id}`)).toBe(1);

      telegramAnswer.resolve();
      await deliveries.settled();
      expect(telegram.messages(pending.chatId).map((message) => message.text)).toEqual(['slow telegram']);
      expect(await pendingKeys(id)).toBe(0);
    });

    it('delivers concurrent duplicates once', async () => {
      const { id, pending } = await storePending();
      const telegramAnswer = deferred();
      telegram.failNext(TOKEN, 'sendMessage', { ...sent(pending.chatId), release: telegramAnswer.promise });
      const body = { success: true, requestId: id, output: 'only once' };

      const answers = await Promise.all([callback(body), callback(body), callback(body)]);
      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
      expect(answers.map((answer) => answer.body as object)).toEqual(
        expect.arrayContaining([
          { received: true, request_id: id },
          { received: true, request_id: id, message: 'Already being delivered' },
        ]),
      );
      expect(answers.filter((answer) => (answer.body as { message?: string }).message === undefined)).toHaveLength(1);

      telegramAnswer.resolve();
      await deliveries.settled();
      // After delivery the request is gone: a late replay sends nothing either.
      await callback(body).expect(200, { received: true, message: 'Request not found' });
      expect(telegram.messages(pending.chatId).map((message) => message.text)).toEqual(['only once']);
    });

    it('queues nothing more for a duplicate arriving after the claim expired while the delivery is under way (retry_after, then a slow Telegram)', async () => {
      const { id, pending } = await storePending();
      // The next try is held too, so the delivery is still under way whatever the machine's speed.
      const telegramAnswer = deferred();
      telegram.failNext(
        TOKEN,
        'sendMessage',
        { status: 429, body: { ok: false, error_code: 429, description: 'Too Many Requests: retry after 1', parameters: { retry_after: 1 } } },
        { ...sent(pending.chatId), release: telegramAnswer.promise },
      );
      const body = { success: true, requestId: id, output: 'after the wait' };
      await callback(body).expect(200, { received: true, request_id: id });
      await pollUntil(async () => telegram.messages(pending.chatId).length, (count) => count === 1, 10_000, 10);
      // The claim's 15 minutes are over (as after a long wait for a worker); the job still waits in the delayed set.
      expect(await redis.del(deliveryClaimKey(id))).toBe(1);
      await callback(body).expect(200, { received: true, request_id: id, message: 'Already being delivered' });

      telegramAnswer.resolve();
      await deliveries.settled();
      expect(telegram.deliveredMessages(pending.chatId).map((message) => message.text)).toEqual(['after the wait']);
      await callback(body).expect(200, { received: true, message: 'Request not found' });
    });
  });

  describe('authentication', () => {
    const body = () => ({ success: true, requestId: `telegram-auth-${randomUUID()}` });

    it.each([
      ['X-Webhook-Secret', { 'X-Webhook-Secret': SECRET }, ''],
      ['X-Cursor-Runner-Secret', { 'X-Cursor-Runner-Secret': SECRET }, ''],
      ['the secret query parameter', {}, `?secret=${SECRET}`],
      ['X-Webhook-Secret before a wrong query secret', { 'X-Webhook-Secret': SECRET }, '?secret=wrong'],
    ])('accepts the secret in %s', async (_, headers, query) => {
      await request(app.baseUrl)
        .post(`/cursor-runner/callback${query}`)
        .set(headers)
        .send(body())
        .expect(200, { received: true, message: 'Request not found' });
    });

    it.each([
      ['a wrong header', { 'X-Webhook-Secret': 'wrong-secret-1' }, '', 'present'],
      ['a wrong query secret', {}, '?secret=wrong-secret-2', 'present'],
      ['a blank header', { 'X-Cursor-Runner-Secret': '' }, '', 'missing'],
      ['no secret', {}, '', 'missing'],
    ])('refuses %s with 401 and logs why, without the secret', async (_, headers, query, provided) => {
      const before = app.logs.lines.length;
      await request(app.baseUrl).post(`/cursor-runner/callback${query}`).set(headers).send(body()).expect(401, { error: 'Unauthorized' });
      expect(app.logs.lines.slice(before)).toContainEqual(
        expect.objectContaining({
          level: 40,
          msg: `Unauthorized cursor-runner callback - invalid secret (provided_secret: ${provided}, ip: 127.0.0.1)`,
        }),
      );
    });

    it('refuses a callback without the secret before reading its body', async () => {
      // 1 KB of a body announced as 20 MB: the refusal comes while the rest has not been sent.
      const connection = openRaw(Number(new URL(app.baseUrl).port), 3_000);
      connection.send(`POST /cursor-runner/callback HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: ${20 * 1024 * 1024}\r\n\r\n{"requestId":"${'x'.repeat(1_000)}`);
      try {
        await connection.received('HTTP/1.1 401 Unauthorized\r\n');
      } finally {
        connection.close();
      }
    });

    it('never writes a secret to the logs, not even the query parameter', async () => {
      const { id } = await storePending();
      await request(app.baseUrl).post(`/cursor-runner/callback?secret=${SECRET}`).send({ success: true, requestId: id, output: 'x' }).expect(200);
      await request(app.baseUrl).post('/cursor-runner/callback?secret=wrong-secret-3').send(body()).expect(401);
      await deliveries.settled();
      const raw = app.logs.raw.join('\n');
      expect(raw).toContain('/cursor-runner/callback?secret=%5BRedacted%5D');
      for (const secret of [SECRET, 'wrong-secret-1', 'wrong-secret-2', 'wrong-secret-3']) expect(raw).not.toContain(secret);
    });
  });

  describe('bad requests', () => {
    it.each([[{}], [{ requestId: '' }], [{ request_id: '   ' }], [[{ requestId: 'in-an-array' }]]])(
      'answers 400 when there is no request id: %j',
      async (body) => {
        await callback(body).expect(400, { error: 'request_id is required' });
      },
    );

    it.each(['bad id', 'a:b', 'x'.repeat(256)])('answers 400 for the invalid request id %p', async (id) => {
      await callback({ requestId: id }).expect(400, { error: 'Invalid request_id format' });
    });

    it('answers 200 "Request not found" for an unknown request and sends nothing', async () => {
      await callback({ success: true, requestId: `telegram-unknown-${randomUUID()}` }).expect(200, {
        received: true,
        message: 'Request not found',
      });
      await deliveries.settled();
      expect(telegram.calls()).toEqual([]);
    });
  });
});

describe('POST /cursor-runner/callback in the embedded mode (no Redis)', () => {
  let telegram: FakeTelegram;
  let elevenLabs: FakeHttpServer;
  let app: TestApp;

  beforeAll(async () => {
    telegram = await FakeTelegram.start(TOKEN);
    elevenLabs = await startFakeElevenLabs({ apiKey: API_KEY });
    app = await startTestApp({ env: { ...appEnv(telegram, elevenLabs), REDIS_URL: undefined } });
  });
  afterAll(async () => {
    await app.close();
    await Promise.all([telegram.stop(), elevenLabs.stop()]);
  });

  it('queues the result in the in-process queue and delivers it, retries included', async () => {
    const deliveries = app.app.get<JobQueue<unknown>>(RESULT_DELIVERIES_QUEUE.token);
    expect(deliveries.durable).toBe(false);
    const id = `telegram-${randomUUID()}`;
    const chatId = nextChat++;
    await app.app.get(PendingRequestStore).store(id, {
      chatId,
      messageId: 8,
      prompt: 'p',
      originalWasAudio: false,
      createdAt: new Date().toISOString(),
      botId: null,
    });
    telegram.failNext(TOKEN, 'sendMessage', { status: 502, body: { ok: false, error_code: 502, description: 'Bad Gateway' } });
    await request(app.baseUrl)
      .post('/cursor-runner/callback')
      .set('X-Webhook-Secret', SECRET)
      .send({ success: true, requestId: id, output: 'embedded' })
      .expect(200, { received: true, request_id: id });
    await app.app.get(DeliverResult).settled();
    expect(telegram.messages(chatId).map((message) => message.text)).toEqual(['embedded', 'embedded']);
    expect(telegram.deliveredMessages(chatId)).toHaveLength(1);
    expect(await app.app.get(PendingRequestStore).get(id)).toBeNull();
  });
});

describe('POST /cursor-runner/callback when Redis is down', () => {
  let telegram: FakeTelegram;
  let elevenLabs: FakeHttpServer;
  let app: TestApp;

  beforeAll(async () => {
    telegram = await FakeTelegram.start(TOKEN);
    elevenLabs = await startFakeElevenLabs({ apiKey: API_KEY });
    // One try more after 500 ms (a second would end past the wait, with the 1 s command budget), then the 503.
    app = await startTestApp({ env: appEnv(telegram, elevenLabs, { REDIS_URL: `redis://127.0.0.1:${await freePort()}`, CALLBACK_REDIS_WAIT_MS: '1600' }) });
  });
  afterAll(async () => {
    await app.close();
    await Promise.all([telegram.stop(), elevenLabs.stop()]);
  });

  it('answers 503, not "not found", and logs the callback for a replay', async () => {
    const id = `telegram-${randomUUID()}`;
    await request(app.baseUrl)
      .post('/cursor-runner/callback')
      .set('X-Webhook-Secret', SECRET)
      .send({ success: true, requestId: id, output: 'the result', exitCode: 0 })
      .expect(503, { received: false, error: 'Pending request store unavailable', request_id: id });
    expect(app.logs.lines).toContainEqual(
      expect.objectContaining({
        level: 50,
        requestId: id,
        callback: { success: true, requestId: id, output: 'the result', exitCode: 0 },
        msg: expect.stringMatching(new RegExp(`^Pending request store unavailable \\(2 tries in \\d+ ms\\): cursor-runner result ${id} cannot be delivered`)),
      }),
    );
    expect(telegram.calls()).toEqual([]);
  });
});

describe('POST /cursor-runner/callback at shutdown', () => {
  it('finishes a delivery in flight before the connections close; one accepted meanwhile is delivered by the next process', async () => {
    const telegram = await FakeTelegram.start(TOKEN);
    const elevenLabs = await startFakeElevenLabs({ apiKey: API_KEY });
    const redis = new Redis(testRedisUrl());
    const env = appEnv(telegram, elevenLabs);
    const app = await startTestApp({ env });
    let next: TestApp | undefined;
    try {
      const chatId = nextChat++;
      const id = await storeWaitingRequest(app, chatId);
      const telegramAnswer = deferred();
      telegram.failNext(TOKEN, 'sendMessage', { ...sent(chatId), release: telegramAnswer.promise });
      await request(app.baseUrl).post('/cursor-runner/callback').set('X-Webhook-Secret', SECRET).send({ success: true, requestId: id, output: 'made it' }).expect(200);
      await telegram.http.waitForRequests(1);

      const closed = app.close();
      // A callback arriving while the app shuts down is stored in the queue before it is answered.
      const lateChat = nextChat++;
      const lateId = await storeWaitingRequest(app, lateChat);
      await request(app.baseUrl)
        .post('/cursor-runner/callback')
        .set('X-Webhook-Secret', SECRET)
        .send({ success: true, requestId: lateId, output: 'late but delivered' })
        .expect(200, { received: true, request_id: lateId });
      // The next process starts before this one has gone (a rolling update); the queue's keys stay.
      next = await startTestApp({ env });

      telegramAnswer.resolve();
      await closed;
      expect(telegram.messages(chatId).map((message) => message.text)).toEqual(['made it']);
      expect(await redis.exists(`cursor_runner_callback:${id}`)).toBe(0);
      // Lines written outside a request after the second app started land in its capture (one pino per process).
      expect([...app.logs.lines, ...next.logs.lines]).toContainEqual(
        expect.objectContaining({ msg: expect.stringMatching(new RegExp(`^Delivered cursor-runner result ${id} `)) }),
      );

      // Whichever process took it (this one before its worker stopped, or the next), it is delivered once.
      const { value: late } = await pollUntil(async () => telegram.messages(lateChat), (messages) => messages.length > 0, 10_000, 20);
      await next.app.get(DeliverResult).settled();
      expect(late.map((message) => message.text)).toEqual(['late but delivered']);
      expect(telegram.messages(lateChat)).toHaveLength(1);
      expect(await redis.exists(`cursor_runner_callback:${lateId}`)).toBe(0);
    } finally {
      await next?.close();
      await redis.quit();
      await Promise.all([telegram.stop(), elevenLabs.stop()]);
    }
  });
});
