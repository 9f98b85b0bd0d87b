import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import request from 'supertest';
import { DeliverResult, PendingRequestStore, RefusedCallbacks, type PendingRequest } from '../apps/api/src/conversation';
import { finishedRunCallback, sendCallback } from './support/fakes/cursor-runner-server';
import { FakeTelegram } from './support/fakes/telegram-server';
import { pollUntil } from './support/poll';
import { openRaw } from './support/raw-http';
import { startTestApp, testRedisUrl, type TestApp } from './support/test-app';

const SECRET = 'large-results-secret';
const TOKEN = '616161:large-results-bot';
const CALLBACK_LIMIT = 4 * 1024 * 1024;
const CURSOR_RUNNER_HEADERS = { 'User-Agent': 'cursor-runner/1.0', 'X-Webhook-Secret': SECRET, 'X-Cursor-Runner-Secret': SECRET };

let nextChat = 8_100_000;

/** The app on the run's Redis under a prefix of its own, answering through `telegram`; `env` on top. */
function startLargeResultsApp(telegram: FakeTelegram, env: Record<string, string> = {}): Promise<TestApp> {
  return startTestApp({
    env: {
      REDIS_URL: testRedisUrl(),
      CACHE_KEY_PREFIX: `lr-${randomUUID().slice(0, 8)}`,
      WEBHOOK_SECRET: SECRET,
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_API_BASE_URL: telegram.url,
      ...env,
    },
  });
}

/**
 * Large results from cursor-runner reach the user whole: the message keeps Telegram's limit with a
 * note, the whole output follows as `<request id>.txt`; a result refused on arrival is announced to
 * the user who waits for it.
 */
describe('large results', () => {
  let telegram: FakeTelegram;
  let app: TestApp;
  let store: PendingRequestStore;
  let deliveries: DeliverResult;
  let refusals: RefusedCallbacks;
  let redis: Redis;

  beforeAll(async () => {
    telegram = await FakeTelegram.start(TOKEN);
    app = await startLargeResultsApp(telegram, { CALLBACK_BODY_LIMIT_BYTES: String(CALLBACK_LIMIT), CALLBACK_DELIVERY_RETRY_DELAY_MS: '0' });
    store = app.app.get(PendingRequestStore);
    deliveries = app.app.get(DeliverResult);
    refusals = app.app.get(RefusedCallbacks);
    redis = new Redis(testRedisUrl());
  });
  beforeEach(() => telegram.reset());
  afterAll(async () => {
    await app.close();
    await redis.quit();
    await telegram.stop();
  });

  async function seed(): Promise<{ id: string; pending: PendingRequest }> {
    const id = `telegram-${Math.floor(Date.now() / 1000)}-${randomUUID().slice(0, 8)}`;
    const pending: PendingRequest = {
      chatId: nextChat++,
      messageId: 77,
      prompt: 'print everything',
      originalWasAudio: false,
      createdAt: new Date().toISOString(),
      botId: null,
    };
    await store.store(id, pending);
    return { id, pending };
  }

  const pendingExists = (id: string) => redis.exists(`cursor_runner_callback:${id}`);

  it('sends the start of a 2 MiB output with a note, then the whole output as <request id>.txt', async () => {
    const { id, pending } = await seed();
    const output = `${'line of agent output\n'.repeat(100_000)}the end`;
    const sent = await sendCallback(`${app.baseUrl}/cursor-runner/callback`, finishedRunCallback(id, { stdout: output }), SECRET);
    expect(sent.status).toBe(200);
    expect(sent.bytes).toBeGreaterThan(2 * 1024 * 1024);
    await deliveries.settled();

    const [message] = telegram.messages(pending.chatId);
    expect(message.reply_to_message_id).toBe(77);
    expect(String(message.text)).toContain(`✂️ Output cut to 4000 of ${output.length} characters: the whole output follows as a file.`);
    expect(Array.from(String(message.text)).length).toBeLessThanOrEqual(4_096);
    const documents = telegram.documents(pending.chatId);
    expect(documents).toHaveLength(1);
    expect(documents[0]).toMatchObject({
      fileName: `${id}.txt`,
      contentType: 'text/plain; charset=utf-8',
      fields: { chat_id: String(pending.chatId) },
      reply_to_message_id: 77,
    });
    expect(documents[0].bytes.equals(Buffer.from(output, 'utf8'))).toBe(true);
    expect(await pendingExists(id)).toBe(0);
  });

  it('sends no document when the output fits in the message', async () => {
    const { id, pending } = await seed();
    const sent = await sendCallback(`${app.baseUrl}/cursor-runner/callback`, finishedRunCallback(id, { stdout: 'short' }), SECRET);
    expect(sent.status).toBe(200);
    await deliveries.settled();
    expect(telegram.messages(pending.chatId).map((message) => message.text)).toEqual(['short']);
    expect(telegram.documents()).toEqual([]);
  });

  it('keeps the delivered message when the document is refused, and logs the loss with the request id', async () => {
    const { id, pending } = await seed();
    telegram.rejectNext(TOKEN, 'sendDocument', 'Bad Request: file is too big');
    const body = finishedRunCallback(id, { stdout: 'o'.repeat(10_000), stderr: 'warn', exitCode: 3 });
    await sendCallback(`${app.baseUrl}/cursor-runner/callback`, body, SECRET);
    await deliveries.settled();
    const [message] = telegram.messages(pending.chatId);
    expect(String(message.text).startsWith('❌ Failed with exit code 3\nwarn\n')).toBe(true);
    expect(telegram.messages(pending.chatId)).toHaveLength(1);
    const logged = app.logs.lines.filter((line) => line.level === 50 && String(line.msg).includes(`whole output of ${id}`));
    expect(logged).toHaveLength(1);
    expect(logged[0].requestId).toBe(id);
    expect(await pendingExists(id)).toBe(0);
  });

  it('tells the waiting user when cursor-runner\'s result was too large to be received', async () => {
    const { id, pending } = await seed();
    const body = finishedRunCallback(id, { stdout: 'y'.repeat(CALLBACK_LIMIT + 1) });
    const sent = await sendCallback(`${app.baseUrl}/cursor-runner/callback`, body, SECRET);
    expect(sent.status).toBe(413);
    await pollUntil(async () => telegram.messages(pending.chatId), (found) => found.length > 0, 5_000, 10);
    expect(telegram.messages(pending.chatId)).toEqual([
      expect.objectContaining({
        text: `❌ The result of your request could not be received: it was too large (${(sent.bytes / 1024 / 1024).toFixed(1)} MiB). cursor-runner does not send it again; please ask again.`,
        reply_to_message_id: 77,
      }),
    ]);
  });

  it('tells the waiting user when the result arrived unreadable', async () => {
    const { id, pending } = await seed();
    await request(app.baseUrl)
      .post('/cursor-runner/callback')
      .set(CURSOR_RUNNER_HEADERS)
      .set('Content-Type', 'application/json')
      .send(`{"success":true,"requestId":"${id}","output":"unterminated`)
      .expect(400);
    await pollUntil(async () => telegram.messages(pending.chatId), (found) => found.length > 0, 5_000, 10);
    expect(telegram.messages(pending.chatId).map((message) => message.text)).toEqual([
      '❌ The result of your request could not be received: it arrived unreadable. cursor-runner does not send it again; please ask again.',
    ]);
  });

  it('tells the waiting user, and logs what the answer said, when the result came in a malformed chunk', async () => {
    const { id, pending } = await seed();
    const first = `{"success":true,"requestId":"${id}","output":"`;
    const connection = openRaw(Number(new URL(app.baseUrl).port), 3_000);
    connection.send(
      `POST /cursor-runner/callback HTTP/1.1\r\nHost: t\r\nX-Webhook-Secret: ${SECRET}\r\nContent-Type: application/json\r\n` +
        `Transfer-Encoding: chunked\r\n\r\n${first.length.toString(16)}\r\n${first}\r\nzz\r\n`,
    );
    const answers = await connection.answers;
    expect(answers.map((answer) => [answer.status, JSON.parse(answer.body).say])).toEqual([[400, "The request body's chunked encoding is not valid."]]);
    await pollUntil(async () => telegram.messages(pending.chatId), (found) => found.length > 0, 5_000, 10);
    expect(telegram.messages(pending.chatId).map((message) => message.text)).toEqual([
      '❌ The result of your request could not be received: it arrived unreadable. cursor-runner does not send it again; please ask again.',
    ]);
    const logged = app.logs.lines.filter((line) => line.level === 50 && String(line.msg).startsWith('Refused a callback'));
    expect(logged.map((line) => line.msg)).toContain(
      `Refused a callback from cursor-runner for request ${id} (400: The request body's chunked encoding is not valid); ` +
        'cursor-runner does not send a result again, so this result is lost',
    );
  });

  const unreadable = (id: string) =>
    request(app.baseUrl)
      .post('/cursor-runner/callback')
      .set(CURSOR_RUNNER_HEADERS)
      .set('Content-Type', 'application/json')
      .send(`{"success":true,"requestId":"${id}","output":"unterminated`)
      .expect(400);

  /** Holds the next sendMessage at the fake Telegram, unanswered, until the returned function is called. */
  function holdNextMessage(chatId: number): () => void {
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    const sent = { ok: true, result: { message_id: 1, date: Math.floor(Date.now() / 1000), chat: { id: chatId, type: 'private' } } };
    telegram.failNext(TOKEN, 'sendMessage', { body: sent, release: answered });
    return answer;
  }

  it('tells the waiting user once when the same refused callback comes again and again', async () => {
    const { id, pending } = await seed();
    for (let sent = 0; sent < 3; sent += 1) {
      await unreadable(id);
      await refusals.settled();
    }
    expect(telegram.messages(pending.chatId).map((message) => message.text)).toEqual([
      '❌ The result of your request could not be received: it arrived unreadable. cursor-runner does not send it again; please ask again.',
    ]);
    expect(await pendingExists(id)).toBe(1);
  });

  it('still delivers a valid callback that arrives while the user is being told a refused one was lost', async () => {
    const { id, pending } = await seed();
    const answerTelegram = holdNextMessage(pending.chatId);
    await unreadable(id);
    await pollUntil(async () => telegram.calls('sendMessage').length, (calls) => calls > 0, 5_000, 10);

    const sent = await sendCallback(`${app.baseUrl}/cursor-runner/callback`, finishedRunCallback(id, { stdout: 'the result after all' }), SECRET);
    expect(sent.status).toBe(200);
    answerTelegram();
    await refusals.settled();
    await deliveries.settled();
    expect(telegram.messages(pending.chatId).map((message) => message.text)).toEqual([
      '❌ The result of your request could not be received: it arrived unreadable. cursor-runner does not send it again; please ask again.',
      'the result after all',
    ]);
  });

  it('tells no one the result was lost when a refused duplicate follows a callback whose result is being delivered', async () => {
    const { id, pending } = await seed();
    const answerTelegram = holdNextMessage(pending.chatId);
    const sent = await sendCallback(`${app.baseUrl}/cursor-runner/callback`, finishedRunCallback(id, { stdout: 'the result' }), SECRET);
    expect(sent.status).toBe(200);
    await pollUntil(async () => telegram.calls('sendMessage').length, (calls) => calls > 0, 5_000, 10);

    await unreadable(id);
    await refusals.settled();
    answerTelegram();
    await deliveries.settled();
    expect(telegram.messages(pending.chatId).map((message) => message.text)).toEqual(['the result']);
  });

  it('tells no one when a broken callback did not carry the secret: it is refused before its body is read', async () => {
    const { id, pending } = await seed();
    await request(app.baseUrl)
      .post('/cursor-runner/callback')
      .set('Content-Type', 'application/json')
      .send(`{"success":true,"requestId":"${id}","output":"unterminated`)
      .expect(401, { error: 'Unauthorized' });
    await refusals.settled();
    expect(telegram.messages(pending.chatId)).toEqual([]);
    expect(await pendingExists(id)).toBe(1);
  });
});

/**
 * The largest result the real cursor-runner sends: it keeps stdout up to 10 MiB (`CURSOR_CLI_MAX_OUTPUT_SIZE`;
 * the read that would pass it stops the agent and is not kept) and JSON-encodes the output, which
 * writes each control character as `\u00XX` — six bytes for one (an agent that prints a UTF-16 file
 * prints a NUL for every other byte). The default `CALLBACK_BODY_LIMIT_BYTES` must take that body.
 */
describe('the largest result cursor-runner sends, with the default callback body limit', () => {
  let telegram: FakeTelegram;
  let app: TestApp;

  beforeAll(async () => {
    telegram = await FakeTelegram.start(TOKEN);
    app = await startLargeResultsApp(telegram);
  });
  afterAll(async () => {
    await app.close();
    await telegram.stop();
  });

  it('receives 10 MiB of mostly control characters, a body over five times that size, and keeps and delivers the text without them', async () => {
    const store = app.app.get(PendingRequestStore);
    const id = `telegram-${Math.floor(Date.now() / 1000)}-${randomUUID().slice(0, 8)}`;
    const chatId = nextChat++;
    await store.store(id, { chatId, messageId: 78, prompt: 'cat utf16.txt', originalWasAudio: false, createdAt: new Date().toISOString(), botId: null });
    // Nine control characters for every letter: JSON writes each as \u00XX.
    const output = `${'\u0001'.repeat(9)}a`.repeat(1024 * 1024);
    const sent = await sendCallback(`${app.baseUrl}/cursor-runner/callback`, finishedRunCallback(id, { stdout: output }), SECRET);
    expect(sent.bytes).toBeGreaterThan(5 * output.length);
    expect(sent.status).toBe(200);
    expect(JSON.parse(sent.answer)).toEqual({ received: true, request_id: id });
    await app.app.get(DeliverResult).settled();
    const text = 'a'.repeat(1024 * 1024);
    const documents = telegram.documents(chatId);
    expect(documents).toHaveLength(1);
    expect(documents[0].bytes.equals(Buffer.from(text, 'utf8'))).toBe(true);
    // Stored once for the delivery and once for lookup, each the size of the text, not of the body.
    const kept = await request(app.baseUrl).get(`/cursor-runner/requests/${id}`).set('X-Admin-Secret', SECRET).expect(200);
    expect(kept.body.result.output).toBe(text);
  });
});
