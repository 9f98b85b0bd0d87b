import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { HELP_TEXT } from '../apps/api/src/conversation';
import { CONVERSATION_NEW, cursorRunnerProtocol, EXECUTE_ASYNC } from './support/fakes/cursor-runner-server';
import { FakeHttpServer } from './support/fakes/fake-http-server';
import { FakeTelegram, usernameOf } from './support/fakes/telegram-server';
import { pollUntil } from './support/poll';
import { removeRedisKeys } from './support/redis-keys';
import { loadTelegramUpdate } from './support/telegram-fixtures';
import { startTestApp, testRedisUrl, type TestApp } from './support/test-app';

const TOKEN = '727272:new-conversation-bot';
const TELEGRAM_SECRET = 'test-telegram-secret';
const WEBHOOK_SECRET = 'test-webhook-secret';
const CHAT = 123456789;

let nextUpdateId = Math.floor(Date.now() / 1000) * 10 + 3;

/** `/new` from Telegram: cursor-runner starts a fresh conversation in its telegram queue. */
describe('/new', () => {
  let telegram: FakeTelegram;
  let cursorRunner: FakeHttpServer;
  let app: TestApp;

  beforeAll(async () => {
    telegram = await FakeTelegram.start(TOKEN);
    cursorRunner = await FakeHttpServer.start(cursorRunnerProtocol({ webhookSecret: WEBHOOK_SECRET }));
    app = await startTestApp({
      env: {
        REDIS_URL: testRedisUrl(),
        CACHE_KEY_PREFIX: `nc-${randomUUID().slice(0, 8)}`,
        TELEGRAM_BOT_TOKEN: TOKEN,
        TELEGRAM_WEBHOOK_SECRET: TELEGRAM_SECRET,
        TELEGRAM_API_BASE_URL: telegram.url,
        CURSOR_RUNNER_URL: cursorRunner.url,
        QUEUE_RETRY_DELAY_MS: '10',
      },
    });
  });
  beforeEach(() => {
    telegram.reset();
    cursorRunner.reset();
  });
  afterAll(async () => {
    await app.close();
    await removeRedisKeys(testRedisUrl(), `${app.config.queue.prefix}:`);
    await Promise.all([telegram.stop(), cursorRunner.stop()]);
  });

  async function say(text: string): Promise<string[]> {
    const update = loadTelegramUpdate('text-message');
    update.update_id = ++nextUpdateId;
    (update.message as Record<string, unknown>).text = text;
    await request(app.baseUrl).post('/telegram/webhook').set('X-Telegram-Bot-Api-Secret-Token', TELEGRAM_SECRET).send(update).expect(200);
    const { value } = await pollUntil(async () => telegram.messages(CHAT), (found) => found.length > 0, 10_000, 10);
    return value.map((message) => String(message.text));
  }

  it('asks cursor-runner for a new telegram conversation and says it started one', async () => {
    expect(await say('/new')).toEqual(['🆕 Started a new conversation.']);
    const calls = cursorRunner.requestsTo(CONVERSATION_NEW);
    expect(calls).toHaveLength(1);
    expect(calls[0].body).toEqual({ queueType: 'telegram' });
    expect(calls[0].headers['x-webhook-secret']).toBe(WEBHOOK_SECRET);
    expect(cursorRunner.requestsTo(EXECUTE_ASYNC)).toEqual([]);
    expect(telegram.messages(CHAT)[0].reply_to_message_id).toBe(101);
  });

  it('says why when cursor-runner cannot start one', async () => {
    cursorRunner.enqueue(CONVERSATION_NEW, { status: 500, body: { success: false, error: 'Redis unavailable', timestamp: new Date().toISOString() } });
    expect(await say(`/new@${usernameOf(TOKEN)}`)).toEqual(['❌ Could not start a new conversation: Redis unavailable']);
    cursorRunner.enqueue(CONVERSATION_NEW, { drop: true }, { drop: true });
    telegram.reset();
    const [text] = await say('/NEW');
    expect(text).toMatch(/^❌ Could not start a new conversation: Failed to connect to cursor-runner: /);
  });

  it('is listed in /help', async () => {
    const [help] = await say('/help');
    expect(help).toBe(HELP_TEXT);
    expect(help).toContain('/new - Start a new conversation');
  });
});
