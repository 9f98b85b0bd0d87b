import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import request from 'supertest';
import { deliveryClaimKey, keptResultKey, pendingRequestKey, PendingRequestStore } from '../apps/api/src/conversation';
import { EXECUTE_ASYNC, finishedRunCallback, sendCallback, startFakeCursorRunner } from './support/fakes/cursor-runner-server';
import type { FakeHttpServer } from './support/fakes/fake-http-server';
import { startTestApp, testRedisUrl, type TestApp } from './support/test-app';

const SECRET = 'run-requests-secret';
const ADMIN = { 'X-Admin-Secret': SECRET };

/**
 * Results for API clients: a run started through the admin proxy is a pending request of its own
 * kind; its callback is accepted and its result kept an hour for `GET /cursor-runner/requests/:id`,
 * which answers Telegram-started requests too, without their chat.
 */
describe('GET /cursor-runner/requests/:id', () => {
  let cursorRunner: FakeHttpServer;
  let app: TestApp;
  let redis: Redis;
  let store: PendingRequestStore;
  const ids: string[] = [];
  const newId = (prefix = 'req') => {
    const id = `${prefix}-${Math.floor(Date.now() / 1000)}-${randomUUID().slice(0, 8)}`;
    ids.push(id);
    return id;
  };

  beforeAll(async () => {
    cursorRunner = await startFakeCursorRunner({ webhookSecret: SECRET });
    app = await startTestApp({
      env: {
        REDIS_URL: testRedisUrl(),
        CACHE_KEY_PREFIX: `rr-${randomUUID().slice(0, 8)}`,
        WEBHOOK_SECRET: SECRET,
        CURSOR_RUNNER_URL: cursorRunner.url,
      },
    });
    store = app.app.get(PendingRequestStore);
    redis = new Redis(testRedisUrl());
  });
  afterAll(async () => {
    await app.close();
    for (const id of ids) await redis.del(pendingRequestKey(id), deliveryClaimKey(id), keptResultKey(id));
    await redis.quit();
    await cursorRunner.stop();
  });

  const status = (id: string) => request(app.baseUrl).get(`/cursor-runner/requests/${id}`).set(ADMIN);
  const callBack = (body: Record<string, unknown>) => sendCallback(`${app.baseUrl}/cursor-runner/callback`, body, SECRET);

  it('keeps the result of a run started through the admin proxy, as cursor-runner sent it, for an hour', async () => {
    const id = newId();
    await request(app.baseUrl).post('/cursor-runner/cursor/execute/async').set(ADMIN).send({ prompt: 'count files', id }).expect(200);
    expect(cursorRunner.requestsTo(EXECUTE_ASYNC).map((sent) => (sent.body as { id: string }).id)).toContain(id);
    expect((await status(id).expect(200)).body).toEqual({ requestId: id, status: 'pending' });

    const sent = await callBack(finishedRunCallback(id, { stdout: 'out\n', stderr: 'Error: boom', exitCode: 2 }));
    expect(sent.status).toBe(200);
    expect(JSON.parse(sent.answer)).toEqual({ received: true, request_id: id });

    expect((await status(id).expect(200)).body).toEqual({
      requestId: id,
      status: 'completed',
      result: { success: true, exitCode: 2, output: 'out', error: 'Error: boom', duration: '5ms' },
    });
    const ttl = await redis.ttl(keptResultKey(id));
    expect(ttl).toBeGreaterThan(3_590);
    expect(ttl).toBeLessThanOrEqual(3_600);
    expect(await redis.exists(pendingRequestKey(id))).toBe(0);
    const replay = await callBack(finishedRunCallback(id, { stdout: 'again' }));
    expect(JSON.parse(replay.answer)).toEqual({ received: true, message: 'Request not found' });
  });

  it('keeps the exit code of a callback sent in snake_case under its documented name', async () => {
    const id = newId();
    await request(app.baseUrl).post('/cursor-runner/cursor/execute/async').set(ADMIN).send({ prompt: 'p', id }).expect(200);
    expect((await callBack({ request_id: id, success: false, exit_code: 2, error: 'boom' })).status).toBe(200);
    expect((await status(id).expect(200)).body.result).toEqual({ success: false, exitCode: 2, error: 'boom' });
    const both = newId();
    await request(app.baseUrl).post('/cursor-runner/cursor/execute/async').set(ADMIN).send({ prompt: 'p', id: both }).expect(200);
    await callBack({ requestId: both, success: true, exitCode: 0, exit_code: 3, output: 'ok' });
    expect((await status(both).expect(200)).body.result).toEqual({ success: true, exitCode: 0, output: 'ok' });
  });

  it('makes up the id of a run started without one, and keeps that run too', async () => {
    const ack = await request(app.baseUrl).post('/cursor-runner/cursor/execute/async').set(ADMIN).send({ prompt: 'p' }).expect(200);
    const id = String(ack.body.requestId);
    ids.push(id);
    expect(id).toMatch(/^req-\d{10}-[0-9a-f]{8}$/);
    expect((await status(id).expect(200)).body).toEqual({ requestId: id, status: 'pending' });
  });

  it('answers for a Telegram-started request too, never with its chat', async () => {
    const id = newId('telegram');
    await store.store(id, {
      chatId: 4242,
      messageId: 9,
      prompt: 'secret plans',
      originalWasAudio: false,
      createdAt: new Date().toISOString(),
      botId: null,
    });
    expect((await status(id).expect(200)).body).toEqual({ requestId: id, status: 'pending' });
    await callBack(finishedRunCallback(id, { stdout: 'done' }));
    const completed = await status(id).expect(200);
    expect(completed.body).toEqual({
      requestId: id,
      status: 'completed',
      result: { success: true, exitCode: 0, output: 'done', error: null, duration: '5ms' },
    });
    expect(JSON.stringify(completed.body)).not.toMatch(/4242|secret plans|chat/);
  });

  it('forgets a run cursor-runner did not take', async () => {
    const id = newId();
    cursorRunner.enqueue(EXECUTE_ASYNC, { status: 401, body: { success: false, error: 'Unauthorized - invalid or missing webhook secret' } });
    await request(app.baseUrl).post('/cursor-runner/cursor/execute/async').set(ADMIN).send({ prompt: 'p', id }).expect(502);
    await status(id).expect(404);
  });

  it('answers 404 for an unknown id, 400 for a malformed one, 401 without the admin secret', async () => {
    const unknown = await status(newId()).expect(404);
    expect(unknown.body).toEqual({ ok: false, say: expect.stringContaining('unknown, or its result expired'), result: { error: 'Not Found' } });
    // Fastify refuses a path parameter over 100 characters itself (414), valid request id or not...
    expect((await status('x'.repeat(101))).status).toBe(414);
    // ...so an API client cannot start a run under an id it could not look up.
    const tooLong = await request(app.baseUrl).post('/cursor-runner/cursor/execute/async').set(ADMIN).send({ prompt: 'p', id: 'x'.repeat(101) }).expect(400);
    expect(tooLong.body.result.fields).toEqual([{ field: 'id', message: 'id must be at most 100 characters (it is looked up in a path)' }]);
    for (const bad of ['has%20space', '..', 'a%2Fb', 'req_1', '%F0%9F%92%A9', 'a%00b']) {
      const response = await status(bad);
      expect([bad, response.status]).toEqual([bad, 400]);
      expect(response.body.result.fields).toEqual([{ field: 'id', message: 'must be a request id' }]);
    }
    await request(app.baseUrl).get(`/cursor-runner/requests/${newId()}`).expect(401);
  });
});

/**
 * An API client's run under an id that is taken — a Telegram message's request awaiting its result,
 * or a finished run whose result is kept — is refused with 409 before cursor-runner is asked: it
 * had replaced the pending request (the chat was never answered) or shown the old result as its own.
 */
describe.each([
  ['Redis', true],
  ['the embedded mode', false],
])('POST /cursor-runner/cursor/execute/async under a taken id (%s)', (_mode, withRedis) => {
  let cursorRunner: FakeHttpServer;
  let app: TestApp;
  let store: PendingRequestStore;
  const ids: string[] = [];
  const newId = (prefix: string) => {
    const id = `${prefix}-${Math.floor(Date.now() / 1000)}-${randomUUID().slice(0, 8)}`;
    ids.push(id);
    return id;
  };
  const startRun = (id: string) =>
    request(app.baseUrl).post('/cursor-runner/cursor/execute/async').set(ADMIN).send({ prompt: 'take over', id });
  const forwardsOf = (id: string) => cursorRunner.requestsTo(EXECUTE_ASYNC).filter((sent) => (sent.body as { id: string }).id === id).length;
  const taken = (id: string) => ({
    ok: false,
    say: `The request id ${id} is taken: a request under it awaits its result, or its result is kept (for an hour after it came). Send another id, or none to have one made.`,
    result: { error: 'Conflict' },
  });

  beforeAll(async () => {
    cursorRunner = await startFakeCursorRunner({ webhookSecret: SECRET });
    app = await startTestApp({
      env: {
        ...(withRedis ? { REDIS_URL: testRedisUrl(), CACHE_KEY_PREFIX: `rr-${randomUUID().slice(0, 8)}` } : {}),
        WEBHOOK_SECRET: SECRET,
        CURSOR_RUNNER_URL: cursorRunner.url,
      },
    });
    store = app.app.get(PendingRequestStore);
  });
  afterAll(async () => {
    await app.close();
    if (withRedis) {
      const redis = new Redis(testRedisUrl());
      for (const id of ids) await redis.del(pendingRequestKey(id), deliveryClaimKey(id), keptResultKey(id));
      await redis.quit();
    }
    await cursorRunner.stop();
  });

  it('is 409 for the id of a Telegram request awaiting its result, which stays as it was', async () => {
    const id = newId('telegram');
    const pending = { chatId: 4243, messageId: 9, prompt: 'mine', originalWasAudio: false, createdAt: new Date().toISOString(), botId: null };
    await store.store(id, pending);
    const answer = await startRun(id);
    expect({ status: answer.status, body: answer.body as unknown }).toEqual({ status: 409, body: taken(id) });
    expect(forwardsOf(id)).toBe(0);
    expect(await store.get(id)).toEqual(pending);
  });

  it('is 409 for the id of a finished run whose result is kept, and for a run still pending', async () => {
    const finished = newId('req');
    await startRun(finished).expect(200);
    const callback = await sendCallback(`${app.baseUrl}/cursor-runner/callback`, finishedRunCallback(finished, { stdout: 'first' }), SECRET);
    expect(callback.status).toBe(200);
    const again = await startRun(finished);
    expect({ status: again.status, body: again.body as unknown }).toEqual({ status: 409, body: taken(finished) });
    expect(forwardsOf(finished)).toBe(1);
    expect((await request(app.baseUrl).get(`/cursor-runner/requests/${finished}`).set(ADMIN)).body).toMatchObject({ result: { output: 'first' } });

    const pending = newId('req');
    await startRun(pending).expect(200);
    expect((await startRun(pending)).status).toBe(409);
    expect(forwardsOf(pending)).toBe(1);
  });

  it('takes the same registration sent twice (as after a broken connection) as stored, and no other under its id', async () => {
    const id = newId('req');
    const run = { prompt: 'p', createdAt: new Date().toISOString(), run: randomUUID() };
    expect(await store.storeApiRequest(id, run)).toBe(true);
    expect(await store.storeApiRequest(id, run)).toBe(true);
    // Another run with the same prompt in the same millisecond is another run.
    expect(await store.storeApiRequest(id, { ...run, run: randomUUID() })).toBe(false);
    expect(await store.storeApiRequest(id, { ...run, prompt: 'another' })).toBe(false);
    expect(await store.find(id)).toEqual({ kind: 'api', request: run });
    // Forgetting another run under the id leaves this one.
    await store.forgetApiRequest(id, { ...run, run: randomUUID() });
    expect(await store.find(id)).toEqual({ kind: 'api', request: run });
    await store.forgetApiRequest(id, run);
    expect(await store.find(id)).toBeNull();
  });

  it('starts one run of many sent at once under one fresh id with one prompt: the others are 409', async () => {
    const id = newId('req');
    const answers = await Promise.all(Array.from({ length: 30 }, () => startRun(id)));
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, ...Array.from({ length: 29 }, () => 409)]);
    expect(forwardsOf(id)).toBe(1);
  });
});
