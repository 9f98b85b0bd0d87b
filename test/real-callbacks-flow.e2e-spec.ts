import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { CallbackRecorder, cursorRunnerProtocol, EXECUTE_ASYNC, type RunScript } from './support/fakes/cursor-runner-server';
import { FakeHttpServer } from './support/fakes/fake-http-server';
import { FakeTelegram } from './support/fakes/telegram-server';
import { pollUntil } from './support/poll';
import { freePort } from './support/redis-server';
import { removeRedisKeys } from './support/redis-keys';
import { loadTelegramUpdate } from './support/telegram-fixtures';
import { startTestApp, testRedisUrl, type TestApp } from './support/test-app';

const TOKEN = '737373:real-callbacks-bot';
const TELEGRAM_SECRET = 'test-telegram-secret';
const WEBHOOK_SECRET = 'test-webhook-secret';
const CHAT = 123456789;

let nextUpdateId = Math.floor(Date.now() / 1000) * 10 + 5;

/**
 * The message flow with cursor-runner calling back by itself, exactly as it does: a Telegram
 * message → execute/async with a callback URL that carries no secret → cursor-runner's callback
 * (its own secret in both headers, `success: true` with the agent's exit code, outputs over 1 MiB)
 * → what the user reads.
 */
describe('message flow with cursor-runner\'s own callbacks', () => {
  let telegram: FakeTelegram;
  let cursorRunner: FakeHttpServer;
  let app: TestApp;
  const callbacks = new CallbackRecorder();
  let script: RunScript = { stdout: '' };

  beforeAll(async () => {
    telegram = await FakeTelegram.start(TOKEN);
    cursorRunner = await FakeHttpServer.start(
      cursorRunnerProtocol({ webhookSecret: WEBHOOK_SECRET, run: () => script, callbacks }),
    );
    const port = await freePort();
    app = await startTestApp({
      port,
      env: {
        REDIS_URL: testRedisUrl(),
        CACHE_KEY_PREFIX: `rc-${randomUUID().slice(0, 8)}`,
        TELEGRAM_BOT_TOKEN: TOKEN,
        TELEGRAM_WEBHOOK_SECRET: TELEGRAM_SECRET,
        TELEGRAM_API_BASE_URL: telegram.url,
        CURSOR_RUNNER_URL: cursorRunner.url,
        CURSOR_RUNNER_CALLBACK_BASE_URL: `http://127.0.0.1:${port}`,
      },
    });
  });
  beforeEach(() => {
    telegram.reset();
    cursorRunner.reset();
    callbacks.reset();
  });
  afterAll(async () => {
    await app.close();
    await removeRedisKeys(testRedisUrl(), `${app.config.queue.prefix}:`);
    await Promise.all([telegram.stop(), cursorRunner.stop()]);
  });

  /** Sends a Telegram message, waits for cursor-runner's callback and for what the user reads. */
  async function run(text: string, messages = 1) {
    const update = loadTelegramUpdate('text-message');
    update.update_id = ++nextUpdateId;
    (update.message as Record<string, unknown>).text = text;
    await request(app.baseUrl).post('/telegram/webhook').set('X-Telegram-Bot-Api-Secret-Token', TELEGRAM_SECRET).send(update).expect(200);
    const [callback] = await callbacks.waitFor(1);
    const { value } = await pollUntil(async () => telegram.messages(CHAT), (found) => found.length >= messages, 10_000, 10);
    const [sent] = cursorRunner.requestsTo(EXECUTE_ASYNC);
    return { callback, texts: value.map((message) => String(message.text)), sent: sent.body as { id: string; callbackUrl: string } };
  }

  it('shows a run whose agent exited 1 as failed, with the exit code and its stderr', async () => {
    script = { stdout: '', stderr: "Error: Authentication required. Please run 'cursor-agent login' first.\n", exitCode: 1 };
    const { callback, texts, sent } = await run('Summarise the README');
    expect(sent.callbackUrl).toBe(`${app.baseUrl}/cursor-runner/callback`);
    expect(callback.headers).toMatchObject({ 'User-Agent': 'cursor-runner/1.0', 'X-Webhook-Secret': WEBHOOK_SECRET });
    expect(callback.body).toMatchObject({ success: true, exitCode: 1 });
    expect(callback.status).toBe(200);
    expect(texts).toEqual(["❌ Failed with exit code 1\nError: Authentication required. Please run 'cursor-agent login' first."]);
  });

  it('delivers a 1.5 MiB output: its start in the message, the whole as <request id>.txt', async () => {
    const output = `${'0123456789abcdef'.repeat(100_000)}end`;
    script = { stdout: output, exitCode: 0 };
    const { callback, texts, sent } = await run('Print a lot');
    expect(callback.bytes).toBeGreaterThan(1024 * 1024);
    expect(callback.status).toBe(200);
    expect(texts[0]).toContain(`✂️ Output cut to 4000 of ${output.length} characters: the whole output follows as a file.`);
    const { value: documents } = await pollUntil(async () => telegram.documents(CHAT), (found) => found.length === 1, 10_000, 10);
    expect(documents[0].fileName).toBe(`${sent.id}.txt`);
    expect(documents[0].bytes.equals(Buffer.from(output))).toBe(true);
  });

  it('reports cursor-runner\'s own failure as it says it', async () => {
    script = { crash: 'Output size exceeded limit: 10485760 bytes' };
    const { texts } = await run('Print even more');
    expect(texts).toEqual(['❌ Output size exceeded limit: 10485760 bytes']);
  });
});
