import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Redis from 'ioredis';
import { pendingRequestKey } from '../apps/api/src/conversation';
import { AppProcess } from './support/faults/app-process';
import type { FakeReply } from './support/fakes/fake-http-server';
import { FakeTelegram } from './support/fakes/telegram-server';
import { pollUntil } from './support/poll';
import { startFaultyRedis, type FaultyRedis } from './support/redis-server';

const TOKEN = '656565:delivery-faults-token';
const SECRET = 'delivery-faults-secret';
/** Generous: app start-up under load (compiling on the fly) plus the lock, the stalled checks and a lease. */
const SETTLE_WITHIN_MS = 90_000;

jest.setTimeout(240_000);

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/**
 * Result deliveries under faults the crash test does not cover, with real processes on a
 * redis-server of this test's own and a lock short enough (1 s) for a bounded test: Redis frozen
 * while a sent message's step is being saved, the app killed while the whole-output file is in
 * flight, and the worker of an API/worker split killed mid-delivery. Each result reaches its chat
 * exactly once.
 */
describe('result deliveries under faults', () => {
  let redis: FaultyRedis;
  let commands: Redis;
  let telegram: FakeTelegram;
  let env: Record<string, string>;
  const apps: AppProcess[] = [];
  let nextChat = 6_500_000;

  beforeAll(async () => {
    redis = await startFaultyRedis();
    commands = new Redis(redis.url);
    telegram = await FakeTelegram.start(TOKEN);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jarek-va-delivery-faults-'));
    env = {
      REDIS_URL: redis.url,
      QUEUE_PREFIX: 'bull:delivery-faults',
      DATABASE_URL: `file:${path.join(dataDir, 'shared.sqlite3')}`,
      WEBHOOK_SECRET: SECRET,
      TELEGRAM_WEBHOOK_SECRET: 'delivery-faults-telegram-secret',
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_API_BASE_URL: telegram.url,
      // Long enough for the held sends; a send a killed process began is taken over after one lease
      // (two of these and 5 s: 25 s).
      TELEGRAM_TIMEOUT_MS: '10000',
      QUEUE_LOCK_DURATION_MS: '1000',
      QUEUE_STALLED_INTERVAL_MS: '500',
    };
  });
  beforeEach(() => telegram.reset());
  afterEach(async () => {
    redis.thaw();
    await Promise.all(apps.splice(0).map((app) => app.kill('SIGKILL')));
  });
  afterAll(async () => {
    commands?.disconnect();
    await telegram?.stop();
    await redis?.stop();
  });

  const start = async (extra: Record<string, string> = {}) => {
    const app = await AppProcess.start({ env: { ...env, ...extra }, readyWithinMs: 120_000 });
    apps.push(app);
    return app;
  };

  /** A pending request of a chat of its own, as the forward stores it. */
  const seed = async () => {
    const chatId = ++nextChat;
    const id = `telegram-${Math.floor(Date.now() / 1000)}-${randomUUID().slice(0, 8)}`;
    const entry = { chat_id: chatId, message_id: 5, prompt: 'p', original_was_audio: false, created_at: new Date().toISOString() };
    await commands.set(pendingRequestKey(id), JSON.stringify(entry), 'EX', 3_600);
    return { id, chatId };
  };

  const post = async (app: AppProcess, body: Record<string, unknown>) => {
    const response = await fetch(`${app.baseUrl}/cursor-runner/callback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'X-Webhook-Secret': SECRET },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: await response.json() };
  };

  /** Telegram's answer to a send, once `release` settles. */
  const heldUntil = (release: Promise<void>, chatId: number): FakeReply => ({
    release,
    body: { ok: true, result: { message_id: 900, date: 0, chat: { id: chatId, type: 'private' }, text: 'sent' } },
  });

  const delivered = (id: string) => pollUntil(() => commands.exists(pendingRequestKey(id)), (exists) => exists === 0, SETTLE_WITHIN_MS, 50);

  it('Redis frozen longer than the lock while a sent message is saved: whichever worker runs the job next does not send it again', async () => {
    const first = await start();
    const second = await start();
    const { id, chatId } = await seed();
    const held = deferred();
    telegram.failNext(TOKEN, 'sendMessage', heldUntil(held.promise, chatId));
    expect(await post(first, { success: true, requestId: id, output: 'frozen result' })).toEqual({
      status: 200,
      body: { received: true, request_id: id },
    });
    await pollUntil(async () => telegram.calls('sendMessage').length, (count) => count === 1, 30_000, 10);
    redis.freeze();
    held.resolve();
    // Telegram accepted the message; its step waits for Redis, frozen past the 1 s lock.
    await pollUntil(async () => telegram.calls('sendMessage')[0].request.answeredWith, (status) => status === 200, 10_000, 10);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    redis.thaw();

    await delivered(id);
    const logged = () => [...first.logged('Delivered cursor-runner result'), ...second.logged('Delivered cursor-runner result')];
    await pollUntil(async () => logged().length, (count) => count >= 1, 10_000, 20);
    expect(telegram.calls('sendMessage')).toHaveLength(1);
    expect(telegram.deliveredMessages(chatId).map((message) => message.text)).toEqual(['frozen result']);
  });

  it('SIGKILL while the whole-output file is in flight: the next process sends the file, the message stays sent once', async () => {
    const first = await start();
    const { id, chatId } = await seed();
    const held = deferred();
    telegram.failNext(TOKEN, 'sendDocument', heldUntil(held.promise, chatId));
    expect((await post(first, { success: true, requestId: id, output: 'z'.repeat(10_000) })).status).toBe(200);
    await pollUntil(async () => telegram.calls('sendDocument').length, (count) => count === 1, 30_000, 10);
    await first.kill('SIGKILL');
    // Telegram sees the connection go before it would have answered: the held file was never accepted.
    await pollUntil(async () => telegram.http.openConnectionCount, (open) => open === 0, 10_000, 20);
    held.resolve();

    await start();
    await delivered(id);
    expect(telegram.deliveredMessages(chatId)).toHaveLength(1);
    const documents = telegram.calls('sendDocument');
    // The first file was never accepted (its process died while Telegram held it); the second was.
    expect(documents.map((call) => call.request.answeredWith)).toEqual([undefined, 200]);
  });

  it('API/worker split: the worker killed mid-delivery, the next worker delivers once; duplicates queue nothing', async () => {
    const api = await start({ APP_ROLE: 'api' });
    const worker = await start({ APP_ROLE: 'worker' });
    const { id, chatId } = await seed();
    const held = deferred();
    telegram.failNext(TOKEN, 'sendMessage', heldUntil(held.promise, chatId));
    const callback = { success: true, requestId: id, output: 'split result' };
    expect(await post(api, callback)).toEqual({ status: 200, body: { received: true, request_id: id } });
    await pollUntil(async () => telegram.calls('sendMessage').length, (count) => count === 1, 30_000, 10);
    await worker.kill('SIGKILL');
    await pollUntil(async () => telegram.http.openConnectionCount, (open) => open === 0, 10_000, 20);
    held.resolve();
    expect(await post(api, callback)).toEqual({ status: 200, body: { received: true, request_id: id, message: 'Already being delivered' } });

    await start({ APP_ROLE: 'worker' });
    await delivered(id);
    expect(telegram.deliveredMessages(chatId).map((message) => message.text)).toEqual(['split result']);
    expect(await post(api, callback)).toEqual({ status: 200, body: { received: true, message: 'Request not found' } });
  });
});
