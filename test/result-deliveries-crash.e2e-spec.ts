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

const TOKEN = '616161:durable-deliveries-token';
const SECRET = 'crash-webhook-secret';
const QUEUE_PREFIX = 'bull:crash';
const RESULTS = 8;
/**
 * How long the next process may take to deliver everything: a delivery the dead process was running
 * is given to a worker again once BullMQ's lock on it (30 s) has expired and its stalled-job check
 * (every 30 s) has seen that; the send it had begun is then taken over after one lease (two
 * `TELEGRAM_TIMEOUT_MS` and 5 s: 25 s here), plus a slow start on a loaded machine.
 */
const REDELIVERY_WITHIN_MS = 150_000;
/** Two app starts (up to 2 minutes each on a loaded machine) and the redelivery. */
const TEST_TIMEOUT_MS = 420_000;

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/**
 * Durable deliveries with real processes: the app answers cursor-runner's callbacks 200, then is
 * SIGKILLed while two deliveries wait in the queue for the retry Telegram asked for (429), two are
 * in flight (Telegram has not answered them) and the rest have not started. The next process, on
 * the same Redis (a redis-server of this test's own), delivers every acknowledged result exactly
 * once, to its chat, through the bot it came through; the pending requests are then gone.
 */
describe('result deliveries across a SIGKILL of the app', () => {
  let redis: FaultyRedis;
  let commands: Redis;
  let telegram: FakeTelegram;
  let first: AppProcess | undefined;
  let second: AppProcess | undefined;
  let env: Record<string, string>;

  beforeAll(async () => {
    redis = await startFaultyRedis();
    commands = new Redis(redis.url);
    telegram = await FakeTelegram.start(TOKEN);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jarek-va-deliveries-'));
    env = {
      REDIS_URL: redis.url,
      QUEUE_PREFIX,
      QUEUE_CONCURRENCY: '2',
      DATABASE_URL: `file:${path.join(dataDir, 'shared.sqlite3')}`,
      WEBHOOK_SECRET: SECRET,
      TELEGRAM_WEBHOOK_SECRET: 'crash-telegram-secret',
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_API_BASE_URL: telegram.url,
      TELEGRAM_TIMEOUT_MS: '10000',
    };
  });
  afterAll(async () => {
    await first?.kill('SIGKILL');
    await second?.kill('SIGKILL');
    commands?.disconnect();
    await telegram?.stop();
    await redis?.stop();
  });

  it('delivers every result answered 200 exactly once, after the process that answered was killed', async () => {
    first = await AppProcess.start({ env, readyWithinMs: 120_000 });
    const results = Array.from({ length: RESULTS }, (_, index) => ({
      id: `telegram-${Date.now()}-${randomUUID().slice(0, 8)}`,
      chatId: 6_100_000 + index,
      messageId: 300 + index,
      output: `result ${index} ${randomUUID()}`,
    }));
    for (const result of results) {
      const entry = { chat_id: result.chatId, message_id: result.messageId, prompt: 'p', original_was_audio: false, created_at: new Date().toISOString() };
      await commands.set(pendingRequestKey(result.id), JSON.stringify(entry), 'EX', 3_600);
    }
    // Two slots: the first two deliveries are rate limited and wait 10 s in the queue (Telegram's
    // retry_after) for their next try; the next two are held by Telegram until the app is gone; the
    // rest wait for a free slot.
    const held = deferred();
    const tooMany: FakeReply = {
      status: 429,
      body: { ok: false, error_code: 429, description: 'Too Many Requests: retry after 10', parameters: { retry_after: 10 } },
    };
    telegram.failNext(TOKEN, 'sendMessage', tooMany, tooMany, { release: held.promise }, { release: held.promise });

    const post = (result: (typeof results)[number]) =>
      fetch(`${first!.baseUrl}/cursor-runner/callback`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'X-Webhook-Secret': SECRET },
        body: JSON.stringify({ success: true, requestId: result.id, output: result.output, exitCode: 0 }),
      }).then(async (response) => ({ status: response.status, body: await response.json() }));
    const answers = [];
    for (const result of results) answers.push(await post(result));
    expect(answers).toEqual(results.map((result) => ({ status: 200, body: { received: true, request_id: result.id } })));
    // A duplicate of an acknowledged callback queues nothing more.
    expect(await post(results[0])).toEqual({
      status: 200,
      body: { received: true, request_id: results[0].id, message: 'Already being delivered' },
    });

    const { value: calls } = await pollUntil(async () => telegram.calls('sendMessage').length, (count) => count >= 4, 30_000, 20);
    expect(calls).toBe(4);
    await first.kill('SIGKILL');
    // Telegram sees the connections go before it would have answered: the held messages were never accepted.
    await pollUntil(async () => telegram.http.openConnectionCount, (open) => open === 0, 10_000, 20);
    held.resolve();
    expect(telegram.deliveredMessages()).toEqual([]);
    for (const result of results) expect(await commands.exists(pendingRequestKey(result.id))).toBe(1);

    second = await AppProcess.start({ env, readyWithinMs: 120_000 });
    const pendingLeft = async () => (await Promise.all(results.map((result) => commands.exists(pendingRequestKey(result.id))))).reduce((a, b) => a + b, 0);
    const { value: left } = await pollUntil(pendingLeft, (count) => count === 0, REDELIVERY_WITHIN_MS, 200);
    expect(left).toBe(0);
    const queued = async () =>
      (await commands.llen(`${QUEUE_PREFIX}:result-deliveries:wait`)) +
      (await commands.llen(`${QUEUE_PREFIX}:result-deliveries:active`)) +
      (await commands.zcard(`${QUEUE_PREFIX}:result-deliveries:delayed`));
    expect((await pollUntil(queued, (count) => count === 0, 10_000, 50)).value).toBe(0);

    for (const result of results) {
      expect(telegram.deliveredMessages(result.chatId).map((message) => [message.token, message.text, message.reply_to_message_id])).toEqual([
        [TOKEN, result.output, result.messageId],
      ]);
    }
    expect(telegram.deliveredMessages()).toHaveLength(RESULTS);
    // The two deliveries in flight at the kill went out again from the second process.
    expect(telegram.calls('sendMessage').filter((call) => call.request.answeredWith === undefined)).toHaveLength(2);
    expect(second.logged('Delivered cursor-runner result')).toHaveLength(RESULTS);
  }, TEST_TIMEOUT_MS);
});
