import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { QueueRegistry } from '@app/queue';
import { cursorRunnerProtocol, EXECUTE_ASYNC } from './support/fakes/cursor-runner-server';
import { FakeHttpServer } from './support/fakes/fake-http-server';
import { FakeTelegram } from './support/fakes/telegram-server';
import { storeWaitingRequest } from './support/pending-requests';
import { pollUntil } from './support/poll';
import { loadTelegramUpdate } from './support/telegram-fixtures';
import { startTestApp, testRedisUrl, type TestApp } from './support/test-app';

const TOKEN = '466466:roles-test-token';
const SECRET = 'test-telegram-secret';
const ADMIN = { 'X-Admin-Secret': 'test-webhook-secret' };

/** The id of the job `app` logged queuing for `updateId`, once it has. */
function queuedJobOf(app: TestApp, updateId: number): string | undefined {
  const queuedLine = new RegExp(`^Received Telegram update ${updateId} .* queued as job (\\S+)$`);
  return app.logs.lines.map((line) => queuedLine.exec(String(line.msg))?.[1]).find(Boolean);
}

const completedLine = (jobId: string) => (line: Record<string, unknown>) =>
  line.msg === `Job ${jobId} of queue telegram-updates completed`;

describe('APP_ROLE: API and worker processes on one Redis', () => {
  let telegram: FakeTelegram;
  let cursorRunner: FakeHttpServer;
  let api: TestApp;
  let worker: TestApp | undefined;
  const env = (role: string, instance: string) => ({
    APP_ROLE: role,
    INSTANCE_ID: instance,
    REDIS_URL: testRedisUrl(),
    LOG_LEVEL: 'debug',
    TELEGRAM_BOT_TOKEN: TOKEN,
    TELEGRAM_API_BASE_URL: telegram.url,
    CURSOR_RUNNER_URL: cursorRunner.url,
    CURSOR_RUNNER_CALLBACK_BASE_URL: 'http://api.test:3000',
  });
  const prefix = `roles-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    telegram = await FakeTelegram.start(TOKEN);
    cursorRunner = await FakeHttpServer.start(cursorRunnerProtocol({ webhookSecret: 'test-webhook-secret' }));
    api = await startTestApp({ env: { ...env('api', 'api-1'), CACHE_KEY_PREFIX: prefix } });
  });
  afterAll(async () => {
    await worker?.close();
    await api.close();
    await Promise.all([telegram.stop(), cursorRunner.stop()]);
  });

  it('api queues a webhook update and runs none; a worker started later runs it', async () => {
    const update = loadTelegramUpdate('text-message');
    update.update_id = Math.floor(Date.now() / 1000);
    const prompt = `Split roles ${randomUUID()}`;
    (update.message as { text: string }).text = prompt;

    await request(api.baseUrl).post('/telegram/webhook').set('X-Telegram-Bot-Api-Secret-Token', SECRET).send(update).expect(200);
    const jobId = queuedJobOf(api, update.update_id as number);
    expect(jobId).toBeDefined();
    const [queue] = api.app.get(QueueRegistry).all();
    expect(queue.consuming()).toBe(false);
    expect(api.logs.lines.map((line) => line.msg)).toContain(
      'Queue telegram-updates: jobs are queued here and run by the workers (APP_ROLE=api)',
    );

    worker = await startTestApp({ env: { ...env('worker', 'worker-1'), CACHE_KEY_PREFIX: prefix }, databaseFile: api.databaseFile });
    const { value: done } = await pollUntil(async () => worker!.logs.lines.some(completedLine(jobId!)), Boolean, 10_000, 20);
    expect(done).toBe(true);
    expect(cursorRunner.requestsTo(EXECUTE_ASYNC).map((call) => (call.body as { prompt: string }).prompt)).toEqual([prompt]);
    expect(api.logs.lines.some(completedLine(jobId!))).toBe(false);
    expect(api.logs.lines.some((line) => String(line.msg).includes('of queue telegram-updates'))).toBe(false);
  });

  it('api answers a callback once its result is queued and delivers none; the worker delivers it', async () => {
    const chatId = 4_660_001;
    const requestId = await storeWaitingRequest(api, chatId);
    expect(api.logs.lines.map((line) => line.msg)).toContain(
      'Queue result-deliveries: jobs are queued here and run by the workers (APP_ROLE=api)',
    );
    await request(api.baseUrl)
      .post('/cursor-runner/callback')
      .set('X-Webhook-Secret', 'test-webhook-secret')
      .send({ success: true, requestId, output: 'delivered by a worker' })
      .expect(200, { received: true, request_id: requestId });

    const { value: sent } = await pollUntil(async () => telegram.messages(chatId), (messages) => messages.length > 0, 10_000, 20);
    expect(sent.map((message) => [message.token, message.text])).toEqual([[TOKEN, 'delivered by a worker']]);
    const delivered = (line: Record<string, unknown>) => String(line.msg).startsWith(`Delivered cursor-runner result ${requestId} `);
    await pollUntil(async () => worker!.logs.lines.some(delivered), Boolean, 5_000, 20);
    expect(worker!.logs.lines.some(delivered)).toBe(true);
    expect(api.logs.lines.some(delivered)).toBe(false);
  });

  it('a worker serves its probes and /metrics only: every feature route is 404', async () => {
    const app = worker!;
    for (const [method, url] of [
      ['post', '/telegram/webhook'],
      ['post', '/cursor-runner/callback'],
      ['get', '/admin/cache/stats'],
      ['get', '/telegram/bots'],
      ['get', '/admin/queues/api/queues'],
      ['get', '/settings/debug'],
      ['get', '/openapi.json'],
      ['get', '/'],
    ] as const) {
      const response = await request(app.baseUrl)[method](url).set(ADMIN).send({});
      expect({ url, status: response.status, error: response.body.result?.error }).toEqual({ url, status: 404, error: 'Not Found' });
    }
    const wrongMethod = await request(app.baseUrl).post('/telegram/bots').set(ADMIN).send({});
    expect({ status: wrongMethod.status, allow: wrongMethod.headers.allow }).toEqual({ status: 404, allow: undefined });
    await request(app.baseUrl).post('/health/live').send({}).expect(405).expect('allow', 'GET, HEAD');
    const ready = await request(app.baseUrl).get('/health/ready').expect(200);
    expect(Object.keys(ready.body.details).sort()).toEqual(['database', 'queueWorkers', 'queues', 'redis']);
    expect(ready.body.details.queueWorkers).toEqual({ status: 'up', queues: ['result-deliveries', 'telegram-updates'] });
    await request(app.baseUrl).get('/health/live').expect(200);
    const metrics = await request(app.baseUrl).get('/metrics').expect(200);
    expect(metrics.text).toMatch(/^process_cpu_seconds_total\{[^}]*role="worker"[^}]*\} /m);
    expect(metrics.text).toMatch(/^process_cpu_seconds_total\{[^}]*instance_id="worker-1"[^}]*\} /m);
  });

  it('the api names itself in /admin/cache/stats and /metrics, and its readiness does not wait for workers', async () => {
    const stats = await request(api.baseUrl).get('/admin/cache/stats').set(ADMIN).expect(200);
    expect(stats.body.instance).toEqual({ id: 'api-1', role: 'api' });
    const metrics = await request(api.baseUrl).get('/metrics').expect(200);
    expect(metrics.text).toMatch(/^process_cpu_seconds_total\{[^}]*role="api"[^}]*instance_id="api-1"[^}]*\} /m);
    const ready = await request(api.baseUrl).get('/health/ready').expect(200);
    expect(Object.keys(ready.body.details).sort()).toEqual(['cache', 'database', 'queues', 'redis']);
  });
});
