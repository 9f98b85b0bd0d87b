import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { DeliverResult, FORWARD_INTERRUPTED_TEXT, HELP_TEXT, TELEGRAM_UPDATES_QUEUE } from '../apps/api/src/conversation';
import type { JobQueue } from '@app/queue';
import { EXECUTE_ASYNC, startFakeCursorRunner } from './support/fakes/cursor-runner-server';
import type { FakeHttpServer } from './support/fakes/fake-http-server';
import { FakeTelegram } from './support/fakes/telegram-server';
import { TcpProxy } from './support/faults/tcp-proxy';
import { storeWaitingRequest } from './support/pending-requests';
import { pollUntil } from './support/poll';
import { startFaultyRedis, type FaultyRedis } from './support/redis-server';
import { loadTelegramUpdate } from './support/telegram-fixtures';
import { startTestApp, type TestApp } from './support/test-app';

const TOKEN = '676767:lost-answers-token';
const CHAT = 123456789;

/**
 * A Redis connection that breaks after a command ran but before its answer arrived: ioredis sends
 * the command again on the new connection. The claims that keep an update or a result from being
 * queued twice must see their own earlier run as theirs, not as a repeat — or the update or result
 * is dropped as a duplicate of itself and never handled (the webhook and the callback answer 200).
 */
describe('Redis answers lost with their connection', () => {
  let redis: FaultyRedis;
  let proxy: TcpProxy;
  let telegram: FakeTelegram;
  let cursorRunner: FakeHttpServer;
  let app: TestApp;
  let nextUpdateId = Math.floor(Date.now() / 1000) * 10 + 3;
  let nextChat = CHAT;

  beforeAll(async () => {
    redis = await startFaultyRedis();
    proxy = await TcpProxy.start(redis.port);
    telegram = await FakeTelegram.start(TOKEN);
    cursorRunner = await startFakeCursorRunner();
    app = await startTestApp({
      env: {
        REDIS_URL: proxy.url,
        CACHE_KEY_PREFIX: `lost-${randomUUID().slice(0, 8)}`,
        TELEGRAM_BOT_TOKEN: TOKEN,
        TELEGRAM_API_BASE_URL: telegram.url,
        CURSOR_RUNNER_URL: cursorRunner.url,
      },
    });
  });
  afterAll(async () => {
    await app?.close();
    await proxy?.stop();
    await telegram?.stop();
    await cursorRunner?.stop();
    await redis?.stop();
  });

  const postUpdate = (body: unknown) =>
    request(app.baseUrl).post('/telegram/webhook').set('X-Telegram-Bot-Api-Secret-Token', 'test-telegram-secret').send(body as object);
  const callback = (body: object) => request(app.baseUrl).post('/cursor-runner/callback').set('X-Webhook-Secret', 'test-webhook-secret').send(body);

  it('webhook: the update id remembered, its answer lost: the update is queued and answered once; a redelivery is a repeat', async () => {
    const body = loadTelegramUpdate('start-command');
    body.update_id = ++nextUpdateId;
    const chatId = ++nextChat;
    (body.message as { chat: { id: number } }).chat.id = chatId;
    const cut = proxy.answersCut;
    proxy.cutAnswerTo(/:once:telegram:update:/);
    expect((await postUpdate(body)).status).toBe(200);
    expect(proxy.answersCut).toBe(cut + 1);
    await pollUntil(async () => telegram.messages(chatId).length, (count) => count >= 1, 10_000, 20);
    expect((await postUpdate(body)).status).toBe(200);
    expect(telegram.messages(chatId).map((message) => message.text)).toEqual([HELP_TEXT]);
    expect(app.logs.lines.filter((line) => String(line.msg).startsWith(`Ignored a repeated delivery of Telegram update ${String(body.update_id)} `))).toHaveLength(1);
  });

  it.each([
    ['its delivery claim', () => /:delivering/],
    ['the once id of its delivery job', () => /:once:cursor-runner:result:/],
    // The job as added: no step saved yet.
    ['its delivery job stored by BullMQ', (output: string) => new RegExp(`${output}[\\s\\S]*"steps":\\{\\}`)],
  ])('callback: %s set, its answer lost: answered 200 and delivered once; a replay then finds nothing to deliver', async (_what, pattern) => {
    const chatId = ++nextChat;
    const requestId = await storeWaitingRequest(app, chatId);
    const body = { request_id: requestId, success: true, output: `lost answer ${randomUUID()}` };
    const cut = proxy.answersCut;
    proxy.cutAnswerTo(pattern(body.output));
    const answer = await callback(body);
    expect(proxy.answersCut).toBe(cut + 1);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ received: true, request_id: requestId });
    await app.app.get(DeliverResult).settled();
    expect(telegram.deliveredMessages(chatId).map((message) => message.text)).toEqual([body.output]);
    expect((await callback(body)).body).toEqual({ received: true, message: 'Request not found' });
  });

  it('forward: the begin mark set, its answer lost: forwarded once, and the chat is not told it may have been interrupted', async () => {
    const body = loadTelegramUpdate('text-message');
    body.update_id = ++nextUpdateId;
    const chatId = ++nextChat;
    const prompt = `begun once ${randomUUID()}`;
    Object.assign(body.message as Record<string, unknown>, { text: prompt, chat: { id: chatId, type: 'private' } });
    const cut = proxy.answersCut;
    proxy.cutAnswerTo(/begun:forward/);
    expect((await postUpdate(body)).status).toBe(200);
    const forwards = () => cursorRunner.requestsTo(EXECUTE_ASYNC).filter((sent) => (sent.body as { prompt?: string }).prompt === prompt);
    await pollUntil(async () => forwards().length + telegram.messages(chatId).length, (count) => count >= 1, 10_000, 20);
    const updates = app.app.get<JobQueue<unknown>>(TELEGRAM_UPDATES_QUEUE.token);
    await pollUntil(async () => Object.values(await updates.depth()).reduce((sum, count) => sum + count, 0), (count) => count === 0, 10_000, 20);
    expect(proxy.answersCut).toBe(cut + 1);
    expect(forwards()).toHaveLength(1);
    expect(telegram.messages(chatId).filter((message) => message.text === FORWARD_INTERRUPTED_TEXT)).toEqual([]);
  });

  it('webhook: the job stored by BullMQ, its answer lost: one job, forwarded once', async () => {
    const body = loadTelegramUpdate('text-message');
    body.update_id = ++nextUpdateId;
    const chatId = ++nextChat;
    const prompt = `stored once ${randomUUID()}`;
    Object.assign(body.message as Record<string, unknown>, { text: prompt, chat: { id: chatId, type: 'private' } });
    const cut = proxy.answersCut;
    proxy.cutAnswerTo(new RegExp(`telegram-updates[\\s\\S]*${prompt}`));
    const answer = await postUpdate(body);
    const forwards = () => cursorRunner.requestsTo(EXECUTE_ASYNC).filter((sent) => (sent.body as { prompt?: string }).prompt === prompt);
    await pollUntil(async () => forwards().length + telegram.messages(chatId).length, (count) => count >= 1, 10_000, 20);
    const updates = app.app.get<JobQueue<unknown>>(TELEGRAM_UPDATES_QUEUE.token);
    await pollUntil(async () => Object.values(await updates.depth()).reduce((sum, count) => sum + count, 0), (count) => count === 0, 10_000, 20);
    expect(answer.status).toBe(200);
    expect(proxy.answersCut).toBe(cut + 1);
    expect(forwards()).toHaveLength(1);
  });

  it('webhook: the job stored, its answer lost and no reconnection in time (503): the redelivery is a repeat of the stored job', async () => {
    const body = loadTelegramUpdate('text-message');
    body.update_id = ++nextUpdateId;
    const chatId = ++nextChat;
    const prompt = `stored before the 503 ${randomUUID()}`;
    Object.assign(body.message as Record<string, unknown>, { text: prompt, chat: { id: chatId, type: 'private' } });
    const cut = proxy.answersCut;
    // The queue's connection cannot come back before ioredis gives the add up; the other connections work.
    proxy.cutAnswerTo(new RegExp(`telegram-updates[\\s\\S]*${prompt}`), { refuseNewForMs: 1_500 });
    expect((await postUpdate(body)).status).toBe(503);
    expect(proxy.answersCut).toBe(cut + 1);
    // Telegram delivers the update again once the app can queue.
    const { value: redelivered } = await pollUntil(() => postUpdate(body), (answer) => answer.status === 200, 10_000, 200);
    expect(redelivered.status).toBe(200);
    const forwards = () => cursorRunner.requestsTo(EXECUTE_ASYNC).filter((sent) => (sent.body as { prompt?: string }).prompt === prompt);
    await pollUntil(async () => forwards().length, (count) => count >= 1, 10_000, 20);
    const updates = app.app.get<JobQueue<unknown>>(TELEGRAM_UPDATES_QUEUE.token);
    // The queue's own connection may still be reconnecting: a depth it cannot read is not zero.
    const unfinished = () => updates.depth().then((depth) => Object.values(depth).reduce((sum, count) => sum + count, 0), () => -1);
    await pollUntil(unfinished, (count) => count === 0, 10_000, 20);
    expect(forwards()).toHaveLength(1);
  });
});
