import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { BullJobQueue } from '@app/queue';
import { DeliverResult, FORWARD_INTERRUPTED_TEXT, HELP_TEXT, PendingRequestStore, RESULT_DELIVERIES_QUEUE, TELEGRAM_UPDATES_QUEUE, type ResultDeliveryJob } from '../apps/api/src/conversation';
import { EXECUTE_ASYNC, startFakeCursorRunner } from './support/fakes/cursor-runner-server';
import type { FakeHttpServer } from './support/fakes/fake-http-server';
import { FakeTelegram } from './support/fakes/telegram-server';
import { storeWaitingRequest } from './support/pending-requests';
import { pollUntil } from './support/poll';
import { startFaultyRedis, type FaultyRedis } from './support/redis-server';
import { loadTelegramUpdate } from './support/telegram-fixtures';
import { startTestApp, type TestApp } from './support/test-app';

const TOKEN = '777777:redis-hang-token';
const CHAT = 123456789;
/** REDIS_COMMAND_TIMEOUT_MS's default, which the app below runs with. */
const COMMAND_TIMEOUT_MS = 1_000;
/** What a request needing Redis may take while Redis hangs: the command budget plus 1 s. */
const ANSWER_BUDGET_MS = COMMAND_TIMEOUT_MS + 1_000;

/**
 * Bounded waits on Redis: with the Redis frozen (SIGSTOP: sockets open, nothing answered), every
 * request that needs it answers within REDIS_COMMAND_TIMEOUT_MS + 1 s — the webhook and the
 * callback a 503 (the callback's content logged at error level for a replay) — and after SIGCONT
 * everything works again without a restart, the queue worker included.
 */
describe('requests while Redis hangs', () => {
  let redis: FaultyRedis;
  let telegram: FakeTelegram;
  let cursorRunner: FakeHttpServer;
  let app: TestApp;
  let nextUpdateId = Math.floor(Date.now() / 1000) * 10 + 7;
  let nextChat = CHAT;

  const timed = async (call: () => Promise<request.Response>) => {
    const started = Date.now();
    const response = await call();
    return { response, elapsedMs: Date.now() - started };
  };
  const postUpdate = (body: unknown) =>
    request(app.baseUrl).post('/telegram/webhook').set('X-Telegram-Bot-Api-Secret-Token', 'test-telegram-secret').send(body as object);
  const answeredHelp = () => telegram.messages(CHAT).filter((message) => message.text === HELP_TEXT).length;

  beforeAll(async () => {
    redis = await startFaultyRedis();
    telegram = await FakeTelegram.start(TOKEN);
    cursorRunner = await startFakeCursorRunner();
    app = await startTestApp({
      env: {
        REDIS_URL: redis.url,
        CACHE_KEY_PREFIX: `hang-${randomUUID().slice(0, 8)}`,
        TELEGRAM_BOT_TOKEN: TOKEN,
        TELEGRAM_API_BASE_URL: telegram.url,
        CURSOR_RUNNER_URL: cursorRunner.url,
        QUEUE_RETRY_DELAY_MS: '50',
        // The callback's 503 at once; its tries during a wait are callback-redis-wait.e2e's.
        CALLBACK_REDIS_WAIT_MS: '0',
      },
    });
  });
  afterEach(() => redis.thaw());
  afterAll(async () => {
    redis?.thaw();
    await app?.close();
    await telegram?.stop();
    await cursorRunner?.stop();
    await redis?.stop();
  });

  it('webhook: 503 within the budget while frozen; the same update redelivered after SIGCONT is queued and answered', async () => {
    const body = loadTelegramUpdate('start-command');
    body.update_id = ++nextUpdateId;
    redis.freeze();
    const { response, elapsedMs } = await timed(() => postUpdate(body));
    expect(response.status).toBe(503);
    expect(response.body).toMatchObject({ ok: false });
    expect(elapsedMs).toBeLessThanOrEqual(ANSWER_BUDGET_MS);

    redis.thaw();
    const before = answeredHelp();
    const { value: redelivered } = await pollUntil(() => postUpdate(body), (answer) => answer.status === 200, 5_000, 100);
    expect(redelivered.status).toBe(200);
    const { value: answered } = await pollUntil(async () => answeredHelp(), (count) => count > before, 10_000, 20);
    expect(answered).toBe(before + 1);
  });

  it('webhook: a redelivery answered 503 during the same hang does not undo the first delivery\'s deduplication', async () => {
    const body = loadTelegramUpdate('start-command');
    body.update_id = ++nextUpdateId;
    const before = answeredHelp();
    // The first delivery's update id is remembered; Redis hangs as BullMQ stores its job.
    const updates = app.app.get<BullJobQueue<unknown>>(TELEGRAM_UPDATES_QUEUE.token).bullQueue;
    const add = updates.add.bind(updates);
    const frozen = jest.spyOn(updates, 'add').mockImplementationOnce((...args) => {
      redis.freeze();
      return add(...args);
    });
    expect((await postUpdate(body)).status).toBe(503);
    frozen.mockRestore();
    // Telegram delivers it again while Redis still hangs: 503 too.
    expect((await postUpdate(body)).status).toBe(503);

    // The first job is stored once Redis answers, and runs.
    redis.thaw();
    await pollUntil(async () => answeredHelp(), (count) => count > before, 10_000, 20);
    // Telegram, which saw two 503s, delivers it once more: a repeat of the job that ran.
    const { value: redelivered } = await pollUntil(() => postUpdate(body), (answer) => answer.status === 200, 5_000, 100);
    expect(redelivered.status).toBe(200);
    const updatesQueue = app.app.get<BullJobQueue<unknown>>(TELEGRAM_UPDATES_QUEUE.token);
    await pollUntil(async () => Object.values(await updatesQueue.depth()).reduce((sum, count) => sum + count, 0), (count) => count === 0, 10_000, 20);
    expect(answeredHelp()).toBe(before + 1);
    expect(app.logs.lines.filter((line) => line.msg === `Ignored a repeated delivery of Telegram update ${String(body.update_id)} (bot default)`)).toHaveLength(1);
  });

  it('callback: 503 within the budget while frozen, its content logged at error level; answered normally after SIGCONT', async () => {
    const requestId = `telegram-${Date.now()}-hang`;
    const output = `result kept for a replay ${randomUUID()}`;
    redis.freeze();
    const { response, elapsedMs } = await timed(() =>
      request(app.baseUrl)
        .post('/cursor-runner/callback')
        .set('X-Webhook-Secret', 'test-webhook-secret')
        .send({ request_id: requestId, success: true, output }),
    );
    expect(response.status).toBe(503);
    expect(response.body).toEqual({ received: false, error: 'Pending request store unavailable', request_id: requestId });
    expect(elapsedMs).toBeLessThanOrEqual(ANSWER_BUDGET_MS);
    const logged = app.logs.lines.find((line) => line.level === 50 && line.requestId === requestId);
    expect(logged).toMatchObject({ callback: { output } });

    redis.thaw();
    const { value: after } = await pollUntil(
      () => request(app.baseUrl).post('/cursor-runner/callback').set('X-Webhook-Secret', 'test-webhook-secret').send({ request_id: requestId, success: true, output }),
      (answer) => answer.status === 200,
      5_000,
      100,
    );
    expect(after.body).toEqual({ received: true, message: 'Request not found' });
  });

  it.each([
    ['as the once id of its delivery is set', (deliveries: BullJobQueue<ResultDeliveryJob>) => deliveries],
    ['as BullMQ stores its delivery job', (deliveries: BullJobQueue<ResultDeliveryJob>) => deliveries.bullQueue],
  ])('callback: Redis freezing %s gives a 503 within the budget; after SIGCONT the result is delivered once, its replay included', async (_when, target) => {
    const chatId = ++nextChat;
    const requestId = await storeWaitingRequest(app, chatId);
    const output = `queued as Redis froze ${randomUUID()}`;
    // The claim and the lookup went through; Redis hangs at that point of queueing the delivery.
    const queueing = target(app.app.get<BullJobQueue<ResultDeliveryJob>>(RESULT_DELIVERIES_QUEUE.token)) as { add: (...args: unknown[]) => Promise<unknown> };
    const add = queueing.add.bind(queueing);
    const frozen = jest.spyOn(queueing, 'add').mockImplementationOnce((...args: unknown[]) => {
      redis.freeze();
      return add(...args);
    });
    const callback = () =>
      request(app.baseUrl).post('/cursor-runner/callback').set('X-Webhook-Secret', 'test-webhook-secret').send({ request_id: requestId, success: true, output });
    const { response, elapsedMs } = await timed(callback);
    frozen.mockRestore();
    expect(response.status).toBe(503);
    expect(elapsedMs).toBeLessThanOrEqual(ANSWER_BUDGET_MS);

    // Whatever Redis did with the add the 503 gave up on, the content logged with the 503 is
    // replayed (a job that landed after all delivers it; else the replay queues it): one message.
    redis.thaw();
    const deliveries = app.app.get(DeliverResult);
    await deliveries.settled();
    const { value: replay } = await pollUntil(callback, (answer) => answer.status === 200, 5_000, 100);
    expect(replay.body).toMatchObject({ received: true });
    await deliveries.settled();
    expect(telegram.deliveredMessages(chatId).map((message) => message.text)).toEqual([output]);
  });

  it('forward: Redis freezing as the forward is about to be marked begun: after SIGCONT it is forwarded once or its chat told once, never both, never twice', async () => {
    const body = loadTelegramUpdate('text-message');
    body.update_id = ++nextUpdateId;
    const chatId = ++nextChat;
    const prompt = `forward across a freeze ${randomUUID()}`;
    Object.assign(body.message as Record<string, unknown>, { text: prompt, chat: { id: chatId, type: 'private' } });
    // The pending request is stored; Redis hangs before the begin mark (the next command) is set.
    const store = app.app.get(PendingRequestStore);
    const storePending = store.store.bind(store);
    const frozen = jest.spyOn(store, 'store').mockImplementationOnce(async (...args) => {
      await storePending(...args);
      redis.freeze();
    });
    expect((await postUpdate(body)).status).toBe(200);
    await pollUntil(async () => frozen.mock.calls.length, (calls) => calls === 1, 10_000, 10);
    frozen.mockRestore();
    // Longer than the command budget: the mark's command times out on the app's side.
    await new Promise((resolve) => setTimeout(resolve, COMMAND_TIMEOUT_MS + 500));
    redis.thaw();

    const forwards = () => cursorRunner.requestsTo(EXECUTE_ASYNC).filter((sent) => (sent.body as { prompt?: string }).prompt === prompt).length;
    const told = () => telegram.messages(chatId).filter((message) => message.text === FORWARD_INTERRUPTED_TEXT).length;
    await pollUntil(async () => forwards() + told(), (count) => count >= 1, 15_000, 20);
    const updates = app.app.get<BullJobQueue<unknown>>(TELEGRAM_UPDATES_QUEUE.token);
    const unfinished = async () => Object.values(await updates.depth()).reduce((sum, count) => sum + count, 0);
    await pollUntil(unfinished, (count) => count === 0, 10_000, 20);
    expect({ forwards: forwards(), told: told(), others: telegram.messages(chatId).length - told() }).toEqual(
      forwards() === 1 ? { forwards: 1, told: 0, others: 0 } : { forwards: 0, told: 1, others: 0 },
    );
  });

  it('admin write: PUT /settings/:name answers within the budget while frozen (the database is its store)', async () => {
    redis.freeze();
    const { response, elapsedMs } = await timed(() =>
      request(app.baseUrl).put('/settings/debug').set('X-Admin-Secret', 'test-webhook-secret').send({ enabled: true }),
    );
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ name: 'debug', enabled: true });
    expect(elapsedMs).toBeLessThanOrEqual(ANSWER_BUDGET_MS);
  });

  it('admin async run: 503 within the budget while frozen, cursor-runner not asked; after SIGCONT the same id is free for the retry', async () => {
    const id = `req-${Math.floor(Date.now() / 1000)}-${randomUUID().slice(0, 8)}`;
    const startRun = () =>
      request(app.baseUrl).post('/cursor-runner/cursor/execute/async').set('X-Admin-Secret', 'test-webhook-secret').send({ prompt: 'across a freeze', id });
    const asked = () => cursorRunner.requestsTo(EXECUTE_ASYNC).filter((sent) => (sent.body as { id?: string }).id === id).length;
    redis.freeze();
    const { response, elapsedMs } = await timed(startRun);
    expect(response.status).toBe(503);
    expect(elapsedMs).toBeLessThanOrEqual(ANSWER_BUDGET_MS);
    expect(asked()).toBe(0);

    // The registration Redis runs once it wakes is undone after it: the id holds no run that never started.
    redis.thaw();
    const status = () => request(app.baseUrl).get(`/cursor-runner/requests/${id}`).set('X-Admin-Secret', 'test-webhook-secret');
    await pollUntil(async () => (await status()).status, (code) => code === 404, 5_000, 50);
    const retried = await startRun();
    expect(retried.status).toBe(200);
    expect(asked()).toBe(1);
    expect((await status()).body).toEqual({ requestId: id, status: 'pending' });
  });
});
