import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import request from 'supertest';
import { DeliverResult, noResultText, PendingRequestStore, ResultDeadlines, type PendingRequest } from '../apps/api/src/conversation';
import { FakeTelegram } from './support/fakes/telegram-server';
import { startTestApp, testRedisUrl, type TestApp } from './support/test-app';

const TOKEN = '727272:result-deadlines-bot';
const SECRET = 'result-deadlines-secret';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * cursor-runner keeps no record of the runs it accepted: one that restarts mid-run never calls back.
 * A Telegram request whose deadline passes without its result has its chat told, once, by whichever
 * instance takes the deadline.
 */
describe('a forwarded request whose result never comes', () => {
  let telegram: FakeTelegram;
  let first: TestApp;
  let second: TestApp;
  let nextChat = 9_300_000;

  let env: Record<string, string>;
  const prefix = `deadlines-${randomUUID().slice(0, 8)}`;
  const redis = new Redis(testRedisUrl());

  beforeAll(async () => {
    telegram = await FakeTelegram.start(TOKEN);
    env = { REDIS_URL: testRedisUrl(), CACHE_KEY_PREFIX: prefix, WEBHOOK_SECRET: SECRET, TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_API_BASE_URL: telegram.url };
    first = await startTestApp({ env });
    second = await startTestApp({ env });
  });
  beforeEach(() => telegram.reset());
  afterAll(async () => {
    await first.close();
    await second.close();
    await telegram.stop();
    await redis.quit();
  });

  /** A Telegram request that expires after `ttlSeconds` (its deadline half-way). */
  async function forwarded(ttlSeconds: number): Promise<{ id: string; pending: PendingRequest }> {
    const id = `telegram-${Math.floor(Date.now() / 1000)}-${randomUUID().slice(0, 8)}`;
    const pending: PendingRequest = { chatId: nextChat++, messageId: 41, prompt: 'p', originalWasAudio: false, createdAt: new Date().toISOString(), botId: null };
    await first.app.get(PendingRequestStore).store(id, pending, ttlSeconds);
    return { id, pending };
  }

  const sweepBoth = () => Promise.all([first.app.get(ResultDeadlines).sweep(), second.app.get(ResultDeadlines).sweep()]);

  it('tells the chat once, from one of two instances; a result that comes after the notice is still delivered', async () => {
    const { id, pending } = await forwarded(2);
    expect(await sweepBoth()).toEqual([0, 0]);
    await sleep(1_100);

    const told = await sweepBoth();
    expect(told[0] + told[1]).toBe(1);
    expect(telegram.messages(pending.chatId)).toEqual([expect.objectContaining({ text: noResultText(0), reply_to_message_id: 41 })]);
    expect(await sweepBoth()).toEqual([0, 0]);
    const late = await request(first.baseUrl).post('/cursor-runner/callback').set('X-Webhook-Secret', SECRET).send({ requestId: id, success: true, output: 'late' });
    expect(late.body).toEqual({ received: true, request_id: id });
    await first.app.get(DeliverResult).settled();
    expect(telegram.messages(pending.chatId).map((message) => message.text)).toEqual([noResultText(0), 'late']);
  });

  it('tells the chat of a deadline a sweep took and never finished (its process killed) once its lease has passed', async () => {
    const { pending } = await forwarded(4);
    await sleep(2_100);
    // What a sweep killed right after taking the deadline leaves: the deadline leased (here for 500 ms), no notice.
    expect(await first.app.get(PendingRequestStore).takeDue(100, 500)).toHaveLength(1);
    expect(await sweepBoth()).toEqual([0, 0]);
    await sleep(600);

    const told = await sweepBoth();
    expect(told[0] + told[1]).toBe(1);
    expect(telegram.messages(pending.chatId).map((message) => message.text)).toEqual([noResultText(0)]);
  });

  it('takes deadlines one at a time: while one instance waits on a slow Telegram, the other tells the next chat', async () => {
    const requests = [await forwarded(2), await forwarded(2), await forwarded(2), await forwarded(2)];
    await sleep(1_100);
    telegram.answerDelayMs = 300;
    try {
      const told = await sweepBoth();
      expect(told.every((count) => count >= 1)).toBe(true);
      expect(told[0] + told[1]).toBe(4);
    } finally {
      telegram.answerDelayMs = 0;
    }
    for (const { pending } of requests) expect(telegram.messages(pending.chatId)).toHaveLength(1);
  });

  it('stops sweeping when the app stops, leaving the deadlines it did not reach for another instance', async () => {
    const stopping = await startTestApp({ env: { ...env, CACHE_KEY_PREFIX: prefix } });
    const store = stopping.app.get(PendingRequestStore);
    for (let index = 0; index < 3; index += 1) {
      await store.store(`telegram-${Math.floor(Date.now() / 1000)}-${randomUUID().slice(0, 8)}`, { chatId: nextChat++, messageId: 41, prompt: 'p', originalWasAudio: false, createdAt: new Date().toISOString(), botId: null }, 2);
    }
    await sleep(1_100);
    telegram.answerDelayMs = 500;
    try {
      const sweep = stopping.app.get(ResultDeadlines).sweep();
      await sleep(200);
      await stopping.close();
      expect(await sweep).toBe(1);
    } finally {
      telegram.answerDelayMs = 0;
    }
    expect(await redis.zcard(`${prefix}:pending-deadlines`)).toBe(2);
  });

  it('says nothing for a request whose result came, is being delivered, or could not be delivered', async () => {
    const delivered = await forwarded(2);
    const delivering = await forwarded(2);
    await request(first.baseUrl).post('/cursor-runner/callback').set('X-Webhook-Secret', SECRET).send({ requestId: delivered.id, success: true, output: 'done' }).expect(200);
    const store = first.app.get(PendingRequestStore);
    expect(await store.claimDelivery(delivering.id, 'a-callback-receipt', 60)).toBe(true);
    // A result that came but whose delivery gave up: the entry stays for a replay, the result is kept.
    const undelivered = await forwarded(2);
    await store.keepResult(undelivered.id, { result: { success: true, output: 'kept' }, receivedAt: new Date().toISOString() });
    await sleep(1_100);

    expect(await sweepBoth()).toEqual([0, 0]);
    await first.app.get(DeliverResult).settled();
    expect(telegram.messages(delivered.pending.chatId).map((message) => message.text)).toEqual(['done']);
    expect(telegram.messages(delivering.pending.chatId)).toEqual([]);
    expect(telegram.messages(undelivered.pending.chatId)).toEqual([]);
    expect(await store.get(delivering.id)).not.toBeNull();
  });
});
