import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import request from 'supertest';
import type { BullJobQueue } from '@app/queue';
import { DeliverResult, RESULT_DELIVERIES_QUEUE, type ResultDeliveryJob } from '../apps/api/src/conversation';
import { FakeTelegram } from './support/fakes/telegram-server';
import { TcpProxy } from './support/faults/tcp-proxy';
import { storeWaitingRequest } from './support/pending-requests';
import { pollUntil } from './support/poll';
import { startFaultyRedis, type FaultyRedis } from './support/redis-server';
import { startTestApp, type TestApp } from './support/test-app';

const TOKEN = '777778:callback-wait-token';
/** REDIS_COMMAND_TIMEOUT_MS's default, which the app below runs with. */
const COMMAND_TIMEOUT_MS = 1_000;
/** CALLBACK_REDIS_WAIT_MS of the app below. */
const WAIT_MS = 4_000;
/** CALLBACK_WAIT_MAX_BYTES of the app below, its least. */
const WAIT_MAX_BYTES = 1_048_576;
/**
 * A try that would end past the wait is not started (a try Redis does not answer takes one command
 * budget, after a 500 ms pause): the 503 comes once less than that is left, and within the wait.
 */
const GIVES_UP_AFTER_MS = WAIT_MS - 500 - COMMAND_TIMEOUT_MS;

/**
 * cursor-runner posts a result once and never again, waiting up to 30 s for the answer. A callback
 * Redis cannot take is tried again for CALLBACK_REDIS_WAIT_MS, so a Redis that hangs or restarts for
 * less than that loses no result and delivers it once; past it, or when the app shuts down, the
 * answer is the 503 with the content logged for a replay.
 */
describe('a callback while Redis cannot take it (CALLBACK_REDIS_WAIT_MS)', () => {
  let redis: FaultyRedis;
  let telegram: FakeTelegram;
  let app: TestApp;
  let nextChat = 555_000;
  let dataDirectory: string;

  const callback = (requestId: string, output: string) =>
    request(app.baseUrl).post('/cursor-runner/callback').set('X-Webhook-Secret', 'test-webhook-secret').send({ request_id: requestId, success: true, output });
  const timed = async (call: () => Promise<request.Response>) => {
    const started = Date.now();
    const response = await call();
    return { response, elapsedMs: Date.now() - started };
  };
  /** A Telegram request waiting for its result, in a chat of its own. */
  async function pendingRequest(): Promise<{ requestId: string; chatId: number }> {
    const chatId = ++nextChat;
    return { requestId: await storeWaitingRequest(app, chatId), chatId };
  }
  const delivered = async (chatId: number) => {
    await app.app.get(DeliverResult).settled();
    return telegram.deliveredMessages(chatId).map((message) => message.text);
  };

  beforeAll(async () => {
    // Kept on disk, so a restart brings the pending requests back, as a durable production Redis does.
    dataDirectory = fs.mkdtempSync(path.join(os.tmpdir(), 'jarek-va-callback-wait-'));
    redis = await startFaultyRedis({ appendOnlyDir: dataDirectory });
    telegram = await FakeTelegram.start(TOKEN);
    app = await startTestApp({
      env: {
        REDIS_URL: redis.url,
        CACHE_KEY_PREFIX: `wait-${randomUUID().slice(0, 8)}`,
        TELEGRAM_BOT_TOKEN: TOKEN,
        TELEGRAM_API_BASE_URL: telegram.url,
        QUEUE_RETRY_DELAY_MS: '50',
        CALLBACK_REDIS_WAIT_MS: String(WAIT_MS),
        CALLBACK_WAIT_MAX_BYTES: String(WAIT_MAX_BYTES),
      },
    });
  });
  afterEach(() => redis.thaw());
  afterAll(async () => {
    redis?.thaw();
    await app?.close();
    await telegram?.stop();
    await redis?.stop();
  });

  it('Redis frozen for 2 s: answered 200 once it thaws, and the result delivered once', async () => {
    const { requestId, chatId } = await pendingRequest();
    const output = `across a freeze ${randomUUID()}`;
    redis.freeze();
    const thawed = new Promise<void>((resolve) => setTimeout(() => resolve(redis.thaw()), 2_000));

    const { response, elapsedMs } = await timed(() => callback(requestId, output));
    await thawed;

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ received: true, request_id: requestId });
    expect(elapsedMs).toBeGreaterThanOrEqual(2_000);
    expect(elapsedMs).toBeLessThanOrEqual(2_000 + 2 * COMMAND_TIMEOUT_MS + 500);
    expect(await delivered(chatId)).toEqual([output]);
    expect(app.logs.lines.some((line) => String(line.msg).startsWith(`cursor-runner result ${requestId} taken on try `))).toBe(true);
  });

  it('Redis frozen as BullMQ stores the delivery job, thawed within the wait: answered 200, delivered once', async () => {
    const { requestId, chatId } = await pendingRequest();
    const output = `queued as Redis froze ${randomUUID()}`;
    // The add that times out runs once Redis thaws; the try after it finds the job there.
    const queue = app.app.get<BullJobQueue<ResultDeliveryJob>>(RESULT_DELIVERIES_QUEUE.token).bullQueue as unknown as {
      add: (...args: unknown[]) => Promise<unknown>;
    };
    const add = queue.add.bind(queue);
    const frozen = jest.spyOn(queue, 'add').mockImplementationOnce((...args: unknown[]) => {
      redis.freeze();
      setTimeout(() => redis.thaw(), 2_000);
      return add(...args);
    });

    const { response } = await timed(() => callback(requestId, output));
    frozen.mockRestore();

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ received: true, request_id: requestId });
    expect(await delivered(chatId)).toEqual([output]);
  });

  it('Redis killed and restarted within the wait: answered 200, delivered once', async () => {
    const { requestId, chatId } = await pendingRequest();
    const output = `across a restart ${randomUUID()}`;
    await redis.kill();
    const restarted = new Promise<void>((resolve) => setTimeout(() => void redis.restart().then(resolve), 1_500));

    const { response } = await timed(() => callback(requestId, output));
    await restarted;

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ received: true, request_id: requestId });
    expect(await delivered(chatId)).toEqual([output]);
  });

  it('Redis restarted empty within the wait (no persistence): 200 "Request not found", the callback logged at error level for a replay', async () => {
    const { requestId, chatId } = await pendingRequest();
    const output = `lost with the data ${randomUUID()}`;
    await redis.kill();
    // What a Redis without persistence comes back with: nothing.
    for (const entry of fs.readdirSync(dataDirectory)) fs.rmSync(path.join(dataDirectory, entry), { recursive: true, force: true });
    const restarted = new Promise<void>((resolve) => setTimeout(() => void redis.restart().then(resolve), 1_500));

    const { response } = await timed(() => callback(requestId, output));
    await restarted;

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ received: true, message: 'Request not found' });
    expect(await delivered(chatId)).toEqual([]);
    const logged = app.logs.lines.filter((line) => line.requestId === requestId && line.level === 50);
    expect(logged).toEqual([expect.objectContaining({ callback: expect.objectContaining({ output }) })]);
    expect(String(logged[0].msg)).toContain('found no pending request once Redis answered');
    expect(app.logs.lines.some((line) => String(line.msg).startsWith(`cursor-runner result ${requestId} taken on try `))).toBe(false);
  });

  it('Redis frozen past the wait: 503 within it and a try, content logged; the replay after the thaw delivers once', async () => {
    const { requestId, chatId } = await pendingRequest();
    const output = `frozen too long ${randomUUID()}`;
    redis.freeze();

    const { response, elapsedMs } = await timed(() => callback(requestId, output));

    expect(response.status).toBe(503);
    expect(response.body).toEqual({ received: false, error: 'Pending request store unavailable', request_id: requestId });
    expect(elapsedMs).toBeGreaterThanOrEqual(GIVES_UP_AFTER_MS);
    expect(elapsedMs).toBeLessThanOrEqual(WAIT_MS + 250);
    const logged = app.logs.lines.find((line) => line.level === 50 && line.requestId === requestId);
    expect(logged).toMatchObject({ callback: { output } });
    expect(logged?.msg).toMatch(/^Pending request store unavailable \(\d+ tries in \d+ ms\)/);

    redis.thaw();
    const { value: replay } = await pollUntil(() => callback(requestId, output), (answer) => answer.status === 200, 5_000, 100);
    expect(replay.body).toEqual({ received: true, request_id: requestId });
    expect(await delivered(chatId)).toEqual([output]);
  });

  it('callbacks past CALLBACK_WAIT_MAX_BYTES: the one with room waits and is taken, the next is answered 503 at once and logged', async () => {
    const first = await pendingRequest();
    const second = await pendingRequest();
    // Each over half the bytes allowed: the first fits, the second does not beside it.
    const big = (tag: string) => `${tag} ${randomUUID()}\n${'line of agent output\n'.repeat(30_000)}the end`;
    const [firstOutput, secondOutput] = [big('first'), big('second')];
    expect(firstOutput.length).toBeGreaterThan(WAIT_MAX_BYTES / 2);
    redis.freeze();

    const firstAnswer = timed(() => callback(first.requestId, firstOutput));
    const waitsLine = `Redis cannot take cursor-runner result ${first.requestId} now`;
    await pollUntil(
      async () => app.logs.lines.some((line) => String(line.msg).startsWith(waitsLine)),
      (waits) => waits,
      3_000,
      20,
    );
    const { response, elapsedMs } = await timed(() => callback(second.requestId, secondOutput));

    // Its one try takes one command budget on the frozen Redis; then it has no room to wait.
    expect(response.status).toBe(503);
    expect(response.body).toEqual({ received: false, error: 'Pending request store unavailable', request_id: second.requestId });
    expect(elapsedMs).toBeLessThan(COMMAND_TIMEOUT_MS + 400);
    const logged = app.logs.lines.find((line) => line.level === 50 && line.requestId === second.requestId);
    expect(logged?.msg).toMatch(
      new RegExp(`^Pending request store unavailable \\(no room to wait: 1 callback waits for Redis holding \\d+ bytes, CALLBACK_WAIT_MAX_BYTES is ${WAIT_MAX_BYTES}\\)`),
    );

    redis.thaw();
    expect((await firstAnswer).response.status).toBe(200);
    const { value: replay } = await pollUntil(() => callback(second.requestId, secondOutput), (answer) => answer.status === 200, 5_000, 100);
    expect(replay.body).toEqual({ received: true, request_id: second.requestId });
    await app.app.get(DeliverResult).settled();
    for (const [{ chatId }, output] of [[first, firstOutput], [second, secondOutput]] as const) {
      const documents = telegram.documents(chatId);
      expect(documents).toHaveLength(1);
      expect(documents[0].bytes.equals(Buffer.from(output, 'utf8'))).toBe(true);
    }
  });
});

/**
 * A hung Redis runs what it was sent once it answers again, after the try that sent it gave up. With
 * the connection cut meanwhile (a proxy or load balancer resetting it), nothing sent after the claim
 * reaches Redis to undo it: the next try must find that claim to be its own receipt's, not a duplicate's.
 */
describe('a callback whose connection to a frozen Redis is cut while its claim is in flight', () => {
  it('is answered 200 once Redis thaws and delivered once, not refused as its own duplicate', async () => {
    const redis = await startFaultyRedis();
    const proxy = await TcpProxy.start(redis.port);
    const telegram = await FakeTelegram.start(TOKEN);
    const app = await startTestApp({
      env: {
        REDIS_URL: proxy.url,
        CACHE_KEY_PREFIX: `cut-${randomUUID().slice(0, 8)}`,
        TELEGRAM_BOT_TOKEN: TOKEN,
        TELEGRAM_API_BASE_URL: telegram.url,
        CALLBACK_REDIS_WAIT_MS: '8000',
      },
    });
    try {
      const chatId = 556_001;
      const requestId = await storeWaitingRequest(app, chatId);
      const output = `across a cut ${randomUUID()}`;
      redis.freeze();
      const answer = request(app.baseUrl)
        .post('/cursor-runner/callback')
        .set('X-Webhook-Secret', 'test-webhook-secret')
        .send({ request_id: requestId, success: true, output });
      const settled = answer.then((response) => response);
      // The first try fails after one command budget (1 s); the second claims 0.5 s later: cut during it.
      await pollUntil(
        async () => app.logs.lines.some((line) => String(line.msg).startsWith(`Redis cannot take cursor-runner result ${requestId} now`)),
        (waits) => waits,
        5_000,
        20,
      );
      await new Promise((resolve) => setTimeout(resolve, 800));
      proxy.drop();
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      redis.thaw();

      const response = await settled;
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ received: true, request_id: requestId });
      await app.app.get(DeliverResult).settled();
      expect(telegram.deliveredMessages(chatId).map((message) => message.text)).toEqual([output]);
    } finally {
      redis.thaw();
      await app.close();
      await telegram.stop();
      await proxy.stop();
      await redis.stop();
    }
  });
});
