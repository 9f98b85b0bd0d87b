import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Redis from 'ioredis';
import { FORWARD_INTERRUPTED_TEXT } from '../apps/api/src/conversation';
import type { FakeHttpServer } from './support/fakes/fake-http-server';
import { EXECUTE_ASYNC, startFakeCursorRunner } from './support/fakes/cursor-runner-server';
import { FakeTelegram } from './support/fakes/telegram-server';
import { AppProcess } from './support/faults/app-process';
import { pollUntil } from './support/poll';
import { startFaultyRedis, type FaultyRedis } from './support/redis-server';

const TOKEN = '818181:forward-once-token';
const TELEGRAM_SECRET = 'forward-once-telegram-secret';
/** How long the fake cursor-runner holds each acknowledgement: every forward is in flight that long. */
const ACKNOWLEDGE_DELAY_MS = 1_500;
/** Lock and stalled check short enough for a bounded test; docs/operations.md has the defaults' bound. */
const QUEUE_LOCK_DURATION_MS = 2_000;
const QUEUE_STALLED_INTERVAL_MS = 500;
/** Generous: app start-up under load (compiling on the fly) plus the lock and the stalled checks. */
const SETTLE_WITHIN_MS = 90_000;

jest.setTimeout(180_000);

/**
 * At most once across a killed process (issue 13, case 1): the real app in a child process on its
 * own redis-server, a fake cursor-runner that takes 1.5 s to acknowledge, and the fake Telegram.
 * Updates go through the webhook; the app is killed (SIGKILL, or SIGTERM with a drain shorter than
 * the forwards) while forwards are in flight, then started again. Every update must end forwarded
 * exactly once, or with its chat told once that the request may have been interrupted — never
 * forwarded twice, never neither — and under one request id whatever attempt used it.
 */
describe('forwarding to cursor-runner across a killed process', () => {
  let redis: FaultyRedis;
  let commands: Redis;
  let telegram: FakeTelegram;
  let cursorRunner: FakeHttpServer;
  let env: Record<string, string>;
  const apps: AppProcess[] = [];
  let nextUpdateId = Math.floor(Date.now() / 1000) * 10;

  beforeAll(async () => {
    redis = await startFaultyRedis();
    commands = new Redis(redis.url);
    telegram = await FakeTelegram.start(TOKEN);
    cursorRunner = await startFakeCursorRunner({ acknowledgeDelayMs: ACKNOWLEDGE_DELAY_MS });
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jarek-va-forward-once-'));
    env = {
      REDIS_URL: redis.url,
      CACHE_KEY_PREFIX: `once-${randomUUID().slice(0, 8)}`,
      DATABASE_URL: `file:${path.join(dataDir, 'shared.sqlite3')}`,
      WEBHOOK_SECRET: 'forward-once-webhook-secret',
      TELEGRAM_WEBHOOK_SECRET: TELEGRAM_SECRET,
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_API_BASE_URL: telegram.url,
      CURSOR_RUNNER_URL: cursorRunner.url,
      QUEUE_CONCURRENCY: '5',
      QUEUE_RETRY_DELAY_MS: '100',
      QUEUE_LOCK_DURATION_MS: String(QUEUE_LOCK_DURATION_MS),
      QUEUE_STALLED_INTERVAL_MS: String(QUEUE_STALLED_INTERVAL_MS),
    };
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.kill('SIGKILL')));
  });
  afterAll(async () => {
    commands?.disconnect();
    await cursorRunner?.stop();
    await telegram?.stop();
    await redis?.stop();
  });

  const start = async (extra: Record<string, string> = {}) => {
    const app = await AppProcess.start({ env: { ...env, ...extra }, readyWithinMs: 120_000 });
    apps.push(app);
    return app;
  };

  /** `count` text updates, each from a chat of its own with a prompt of its own. */
  const newUpdates = (label: string, count: number) =>
    Array.from({ length: count }, (_, i) => {
      const chatId = 700_000 + (nextUpdateId % 100_000);
      const update = {
        update_id: ++nextUpdateId,
        message: {
          message_id: 10 + i,
          date: Math.floor(Date.now() / 1000),
          chat: { id: chatId, type: 'private' },
          from: { id: chatId, is_bot: false, first_name: 'Jarek' },
          text: `${label} task ${i} ${randomUUID().slice(0, 8)}`,
        },
      };
      return { update, chatId, prompt: update.message.text };
    });
  type Sent = ReturnType<typeof newUpdates>[number];

  const postUpdate = async (app: AppProcess, update: Sent['update']) => {
    const response = await fetch(`${app.baseUrl}/telegram/webhook`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Telegram-Bot-Api-Secret-Token': TELEGRAM_SECRET },
      body: JSON.stringify(update),
    });
    expect(response.status).toBe(200);
  };

  const forwardsOf = (prompt: string) =>
    cursorRunner.requestsTo(EXECUTE_ASYNC).filter((request) => (request.body as { prompt?: unknown }).prompt === prompt);
  const toldOf = (chatId: number) => telegram.messages(chatId).filter((message) => message.text === FORWARD_INTERRUPTED_TEXT);
  const forwardsReceived = (sent: Sent[]) => sent.filter(({ prompt }) => forwardsOf(prompt).length > 0).length;

  /** Jobs of the updates queue that ended (completed or failed). */
  const jobsEnded = async () => {
    const queue = `bull:${env.CACHE_KEY_PREFIX}:telegram-updates`;
    return (await commands.zcard(`${queue}:completed`)) + (await commands.zcard(`${queue}:failed`));
  };

  /** Request ids of the pending requests in Redis, by chat. */
  const pendingIdsByChat = async () => {
    const byChat = new Map<number, string[]>();
    for (const key of await commands.keys('cursor_runner_callback:*')) {
      const entry = JSON.parse((await commands.get(key)) ?? '{}') as { chat_id?: number };
      const id = key.slice('cursor_runner_callback:'.length);
      byChat.set(entry.chat_id ?? 0, [...(byChat.get(entry.chat_id ?? 0) ?? []), id]);
    }
    return byChat;
  };

  /** Waits until every job so far has ended, then checks each update of `sent` ended once. */
  async function expectEachForwardedOnceOrTold(sent: Sent[], jobsBefore: number) {
    const { value: ended } = await pollUntil(jobsEnded, (count) => count >= jobsBefore + sent.length, SETTLE_WITHIN_MS, 100);
    expect(ended).toBe(jobsBefore + sent.length);
    const pending = await pendingIdsByChat();
    const outcomes = sent.map(({ prompt, chatId }) => ({
      forwards: forwardsOf(prompt).length,
      told: toldOf(chatId).length,
      otherMessages: telegram.messages(chatId).length - toldOf(chatId).length,
      requestIds: new Set([...forwardsOf(prompt).map((request) => (request.body as { id: string }).id), ...(pending.get(chatId) ?? [])]).size,
    }));
    for (const outcome of outcomes) {
      expect(outcome.forwards).toBeLessThanOrEqual(1);
      expect(outcome.told).toBeLessThanOrEqual(1);
      expect(outcome.forwards + outcome.told).toBeGreaterThanOrEqual(1);
      expect(outcome.otherMessages).toBe(0);
      // One request id per update: the one cursor-runner got (if any) is the one the pending request is under.
      expect(outcome.requestIds).toBe(1);
    }
    return outcomes;
  }

  it('SIGKILL mid-forward: after a restart no update is forwarded twice; those cut short are told once; redeliveries change nothing', async () => {
    const jobsBefore = await jobsEnded();
    const sent = newUpdates('kill', 20);
    const first = await start();
    for (const { update } of sent) await postUpdate(first, update);
    await pollUntil(async () => forwardsReceived(sent), (count) => count >= 5, 30_000, 5);
    await first.kill('SIGKILL');

    const second = await start();
    // Telegram delivers the same updates again (it never saw the first answers, say): deduplicated.
    for (const { update } of sent) await postUpdate(second, update);
    const outcomes = await expectEachForwardedOnceOrTold(sent, jobsBefore);

    // The kill did cut forwards short: those updates were told, not forwarded again.
    const told = outcomes.filter((outcome) => outcome.told === 1).length;
    expect(told).toBeGreaterThanOrEqual(1);
    expect(second.logged('an earlier attempt began forwarding it').length).toBe(told);
  });

  it('SIGTERM with SHUTDOWN_TIMEOUT_MS shorter than the forwards: the same after a restart', async () => {
    const jobsBefore = await jobsEnded();
    const sent = newUpdates('term', 10);
    const first = await start({ SHUTDOWN_TIMEOUT_MS: '1000' });
    for (const { update } of sent) await postUpdate(first, update);
    await pollUntil(async () => forwardsReceived(sent), (count) => count >= 3, 30_000, 5);
    const exit = await first.kill('SIGTERM');
    expect(first.logged('did not finish within').length).toBeGreaterThanOrEqual(1);
    expect(exit.code).toBe(1);

    await start();
    const outcomes = await expectEachForwardedOnceOrTold(sent, jobsBefore);
    expect(outcomes.filter((outcome) => outcome.told === 1).length).toBeGreaterThanOrEqual(1);
  });

  it('a stalled process (SIGSTOP) whose job another worker takes over: forwarded once, the chat told once, one request id', async () => {
    const jobsBefore = await jobsEnded();
    const sent = newUpdates('stall', 1);
    const stalled = await start();
    // cursor-runner holds its acknowledgement until the stalled process is running again.
    let acknowledge!: () => void;
    const acknowledged = new Promise<void>((resolve) => {
      acknowledge = resolve;
    });
    cursorRunner.enqueue(EXECUTE_ASYNC, { release: acknowledged, body: { success: true, message: 'Request accepted, processing asynchronously' } });
    await postUpdate(stalled, sent[0].update);
    await pollUntil(async () => forwardsReceived(sent), (count) => count === 1, 30_000, 5);
    stalled.child.kill('SIGSTOP');
    try {
      // Its lock expires; the other process's stalled-job check gives the job to its worker.
      const other = await start();
      await pollUntil(async () => toldOf(sent[0].chatId).length, (count) => count >= 1, SETTLE_WITHIN_MS, 50);
      expect(other.logged('an earlier attempt began forwarding it')).toHaveLength(1);
    } finally {
      stalled.child.kill('SIGCONT');
      acknowledge();
    }
    // The stalled process wakes up to cursor-runner's acknowledgement: its forward stands, nothing more is sent.
    await pollUntil(async () => stalled.logged('Forwarded to cursor-runner').length, (count) => count === 1, 30_000, 20);
    const [outcome] = await expectEachForwardedOnceOrTold(sent, jobsBefore);
    expect(outcome).toMatchObject({ forwards: 1, told: 1 });
  });
});
