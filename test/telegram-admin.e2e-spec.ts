import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import request from 'supertest';
import { FakeTelegram } from './support/fakes/telegram-server';
import { CLOSED_PORT } from './support/redis-server';
import { startTestApp, testRedisUrl, type TestApp } from './support/test-app';

const TOKEN = '424242:admin-route-token_Z';
const TOKEN_SECRET_PART = 'admin-route-token_Z';
const ADMIN = { 'X-Admin-Secret': 'test-webhook-secret' };
const DEFAULT_URL = 'http://localhost:3000/telegram/webhook';
const UNAUTHORIZED_MISSING = {
  ok: false,
  say: 'The admin secret is missing: send it in the X-Admin-Secret header.',
  result: { error: 'Unauthorized' },
};
const UNAUTHORIZED_WRONG = { ok: false, say: 'The admin secret is wrong.', result: { error: 'Unauthorized' } };

function startTelegramApp(env: Record<string, string | undefined>): Promise<TestApp> {
  return startTestApp({
    env: { REDIS_URL: testRedisUrl(), CACHE_KEY_PREFIX: `t-${randomUUID().slice(0, 8)}`, LOG_LEVEL: 'debug', ...env },
  });
}

describe('Telegram admin routes against a fake Bot API', () => {
  let fake: FakeTelegram;
  let app: TestApp;
  let redis: Redis;

  beforeAll(async () => {
    fake = await FakeTelegram.start(TOKEN);
    app = await startTelegramApp({ TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_API_BASE_URL: fake.url });
    redis = new Redis(testRedisUrl());
  });
  beforeEach(() => fake.reset());
  afterAll(async () => {
    await app.close();
    await fake.stop();
    await redis.quit();
  });

  it('POST /telegram/set_webhook registers the configured URL and secret by default', async () => {
    const response = await request(app.baseUrl).post('/telegram/set_webhook').set(ADMIN).expect(200);
    expect(response.body).toEqual({
      ok: true,
      message: 'Webhook set successfully',
      webhook_info: { ok: true, result: true, description: 'Webhook was set' },
    });
    expect(fake.calls('setWebhook').map((call) => call.params)).toEqual([
      { url: DEFAULT_URL, secret_token: 'test-telegram-secret' },
    ]);
    expect(fake.webhookOf(TOKEN)).toEqual({ url: DEFAULT_URL, secret_token: 'test-telegram-secret' });
  });

  it('takes url and secret_token from the JSON body, the query or a form body, and the admin secret from any of them', async () => {
    await request(app.baseUrl)
      .post('/telegram/set_webhook')
      .send({ url: 'https://va.example.com/telegram/webhook', secret_token: 'body_secret', admin_secret: 'test-webhook-secret' })
      .expect(200);
    await request(app.baseUrl)
      .post('/telegram/set_webhook?url=https://q.example.com/hook&secret_token=query-secret&admin_secret=test-webhook-secret')
      .expect(200);
    await request(app.baseUrl)
      .post('/telegram/set_webhook')
      .set(ADMIN)
      .type('form')
      .send({ url: 'https://form.example.com/hook' })
      .expect(200);
    expect(fake.calls('setWebhook').map((call) => call.params)).toEqual([
      { url: 'https://va.example.com/telegram/webhook', secret_token: 'body_secret' },
      { url: 'https://q.example.com/hook', secret_token: 'query-secret' },
      { url: 'https://form.example.com/hook', secret_token: 'test-telegram-secret' },
    ]);
  });

  it('GET /telegram/webhook_info answers Telegram’s info, cached until set_webhook evicts it', async () => {
    await request(app.baseUrl).post('/telegram/set_webhook').set(ADMIN).send({ url: 'https://one.example.com/hook' }).expect(200);
    const first = await request(app.baseUrl).get('/telegram/webhook_info').set(ADMIN).expect(200);
    expect(first.body).toEqual({
      ok: true,
      webhook_info: {
        ok: true,
        result: { url: 'https://one.example.com/hook', has_custom_certificate: false, pending_update_count: 0 },
      },
    });
    const second = await request(app.baseUrl).get('/telegram/webhook_info').set(ADMIN).expect(200);
    expect(second.body).toEqual(first.body);
    expect(fake.calls('getWebhookInfo')).toHaveLength(1);

    await request(app.baseUrl).post('/telegram/set_webhook').set(ADMIN).send({ url: 'https://two.example.com/hook' }).expect(200);
    const afterSet = await request(app.baseUrl).get('/telegram/webhook_info').set(ADMIN).expect(200);
    expect(afterSet.body.webhook_info.result.url).toBe('https://two.example.com/hook');
    expect(fake.calls('getWebhookInfo')).toHaveLength(2);
  });

  it('DELETE /telegram/webhook deletes it and evicts the cached info', async () => {
    await request(app.baseUrl).post('/telegram/set_webhook').set(ADMIN).expect(200);
    await request(app.baseUrl).get('/telegram/webhook_info').set(ADMIN).expect(200);
    const deleted = await request(app.baseUrl).delete('/telegram/webhook').set(ADMIN).expect(200);
    expect(deleted.body).toEqual({ ok: true, message: 'Webhook deleted successfully' });
    expect(fake.webhookOf(TOKEN)).toBeUndefined();
    const info = await request(app.baseUrl).get('/telegram/webhook_info').set(ADMIN).expect(200);
    expect(info.body.webhook_info.result.url).toBe('');
    expect(fake.calls('getWebhookInfo')).toHaveLength(2);
  });

  it('keeps the cached info in Redis under a digest of the token, never the token', async () => {
    await request(app.baseUrl).get('/telegram/webhook_info').set(ADMIN).expect(200);
    const keys = await redis.keys(`${app.config.cache.keyPrefix}:*`);
    expect(keys.some((key) => /:\{telegram\}:webhook-info:[0-9a-f]{16}$/.test(key))).toBe(true);
    expect(keys.join('\n')).not.toContain(TOKEN_SECRET_PART);
  });

  it.each([
    ['POST', '/telegram/set_webhook', 'setWebhook', 'Bad Request: bad webhook: HTTPS url must be provided for webhook', 'Error setting webhook'],
    ['GET', '/telegram/webhook_info', 'getWebhookInfo', 'Unauthorized', 'Error getting webhook info'],
    ['DELETE', '/telegram/webhook', 'deleteWebhook', 'Too Many Requests: retry after 3', 'Error deleting webhook'],
  ])('%s %s answers 502 with Telegram’s error when Telegram says ok:false', async (method, path, apiMethod, description, logged) => {
    await request(app.baseUrl).delete('/telegram/webhook').set(ADMIN).expect(200);
    fake.rejectNext(TOKEN, apiMethod, description);
    const response = await request(app.baseUrl)[method.toLowerCase() as 'get'](path).set(ADMIN).expect(502);
    expect(response.body).toEqual({ ok: false, error: `Telegram API error: ${description}` });
    expect(app.logs.lines).toContainEqual(
      expect.objectContaining({ level: 50, msg: `${logged}: TelegramApiError: Telegram API error: ${description}` }),
    );
  });

  it('does not cache a failed webhook_info', async () => {
    await request(app.baseUrl).post('/telegram/set_webhook').set(ADMIN).expect(200);
    fake.failNext(TOKEN, 'getWebhookInfo', { status: 500, body: 'Internal Server Error' });
    const failed = await request(app.baseUrl).get('/telegram/webhook_info').set(ADMIN).expect(502);
    expect(failed.body).toEqual({ ok: false, error: 'Telegram getWebhookInfo failed: HTTP 500 Internal Server Error' });
    const recovered = await request(app.baseUrl).get('/telegram/webhook_info').set(ADMIN).expect(200);
    expect(recovered.body.webhook_info.result.url).toBe(DEFAULT_URL);
  });

  it.each([
    ['POST', '/telegram/set_webhook'],
    ['GET', '/telegram/webhook_info'],
    ['DELETE', '/telegram/webhook'],
  ])('%s %s answers 401 without the admin secret or with a wrong one, calling nothing', async (method, path) => {
    const call = () => request(app.baseUrl)[method.toLowerCase() as 'get'](path);
    await call().expect(401, UNAUTHORIZED_MISSING);
    await call().set('X-Admin-Secret', 'wrong').expect(401, UNAUTHORIZED_WRONG);
    await call().query({ admin_secret: 'wrong' }).expect(401, UNAUTHORIZED_WRONG);
    expect(fake.http.requests).toHaveLength(0);
  });

  it('answers 400 naming the field for a bad url or secret_token, calling nothing', async () => {
    const badUrl = await request(app.baseUrl).post('/telegram/set_webhook').set(ADMIN).send({ url: 'ftp://x' }).expect(400);
    expect(badUrl.body).toEqual({
      ok: false,
      say: 'Invalid request: url must be an http(s) URL',
      result: { error: 'Bad Request', fields: [{ field: 'url', message: 'url must be an http(s) URL' }] },
    });
    const badSecret = await request(app.baseUrl)
      .post('/telegram/set_webhook?secret_token=has%20space')
      .set(ADMIN)
      .expect(400);
    expect(badSecret.body.result.fields).toEqual([
      {
        field: 'secret_token',
        message: 'secret_token must be 1-256 letters, digits, underscores or dashes (what Telegram accepts)',
      },
    ]);
    await request(app.baseUrl).post('/telegram/set_webhook').set(ADMIN).send({ url: 42 }).expect(400);
    expect(fake.http.requests).toHaveLength(0);
  });

  it("answers 400 for a secret_token other than TELEGRAM_WEBHOOK_SECRET on this service's own route, calling nothing", async () => {
    const refusal = {
      ok: false,
      say: expect.stringContaining('secret_token must be TELEGRAM_WEBHOOK_SECRET'),
      result: {
        error: 'Bad Request',
        fields: [
          {
            field: 'secret_token',
            message:
              "secret_token must be TELEGRAM_WEBHOOK_SECRET (or left out) for this service's own webhook route, which accepts no other secret for the env bot",
          },
        ],
      },
    };
    const requestsBefore = fake.http.requests.length;
    const ownRouteSpelledOtherwise = [
      `${DEFAULT_URL}?cache=buster`,
      `${DEFAULT_URL}#fragment`,
      'http://LOCALHOST:3000/telegram/webhook',
      'http://localhost.:3000/telegram/webhook',
      'http://user@localhost:3000/telegram/webhook',
      'http://localhost:03000/telegram/webhook',
      'http://localhost:3000/telegram/%77ebhook',
    ];
    for (const sent of [{ secret_token: 'mine_now' }, { url: DEFAULT_URL, secret_token: 'mine_now' }, ...ownRouteSpelledOtherwise.map((url) => ({ url, secret_token: 'mine_now' }))]) {
      const answer = await request(app.baseUrl).post('/telegram/set_webhook').set(ADMIN).send(sent);
      expect({ status: answer.status, body: answer.body as unknown }).toEqual({ status: 400, body: refusal });
    }
    expect(fake.http.requests).toHaveLength(requestsBefore);
    // The configured secret, sent explicitly, is the default's.
    await request(app.baseUrl).post('/telegram/set_webhook').set(ADMIN).send({ secret_token: 'test-telegram-secret' }).expect(200);
    expect(fake.webhookOf(TOKEN)).toEqual({ url: DEFAULT_URL, secret_token: 'test-telegram-secret' });
  });

  it('never writes the token into a log line (debug level, successes and failures)', () => {
    expect(app.logs.raw.length).toBeGreaterThan(0);
    expect(app.logs.raw.some((line) => line.includes('telegram setWebhook'))).toBe(true);
    expect(app.logs.raw.join('\n')).not.toContain(TOKEN_SECRET_PART);
  });
});

describe('Telegram admin routes when Telegram is down or slow', () => {
  let app: TestApp;
  let fake: FakeTelegram;

  afterEach(async () => {
    await app?.close();
    await fake?.stop();
  });

  it('answers 502 with the connection error when Telegram cannot be reached', async () => {
    const port = CLOSED_PORT;
    app = await startTelegramApp({ TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_API_BASE_URL: `http://127.0.0.1:${port}` });
    const response = await request(app.baseUrl).get('/telegram/webhook_info').set(ADMIN).expect(502);
    expect(response.body).toEqual({
      ok: false,
      error: `Failed to connect to Telegram: connect ECONNREFUSED 127.0.0.1:${port}`,
    });
    await request(app.baseUrl).delete('/telegram/webhook').set(ADMIN).expect(502);
    expect(app.logs.raw.join('\n')).not.toContain(TOKEN_SECRET_PART);
  });

  it('answers 502 with the timeout after TELEGRAM_TIMEOUT_MS', async () => {
    fake = await FakeTelegram.start(TOKEN);
    fake.failNext(TOKEN, 'setWebhook', { delayMs: 60_000, body: { ok: true, result: true } });
    app = await startTelegramApp({ TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_API_BASE_URL: fake.url, TELEGRAM_TIMEOUT_MS: '300' });
    const response = await request(app.baseUrl).post('/telegram/set_webhook').set(ADMIN).expect(502);
    expect(response.body).toEqual({ ok: false, error: 'Request to Telegram timed out: no answer within 300 ms (setWebhook)' });
  });

  it('answers ok with webhook_info null and calls nothing when TELEGRAM_BOT_TOKEN is blank', async () => {
    fake = await FakeTelegram.start(TOKEN);
    app = await startTelegramApp({ TELEGRAM_BOT_TOKEN: '', TELEGRAM_API_BASE_URL: fake.url });
    await request(app.baseUrl)
      .post('/telegram/set_webhook')
      .set(ADMIN)
      .expect(200, { ok: true, message: 'Webhook set successfully', webhook_info: null });
    await request(app.baseUrl).get('/telegram/webhook_info').set(ADMIN).expect(200, { ok: true, webhook_info: null });
    await request(app.baseUrl).delete('/telegram/webhook').set(ADMIN).expect(200, { ok: true, message: 'Webhook deleted successfully' });
    expect(fake.http.requests).toHaveLength(0);
  });
});
