import * as fs from 'node:fs';
import Database from 'better-sqlite3';
import type Redis from 'ioredis';
import request from 'supertest';
import { REDIS_CLIENT, REDIS_SUBSCRIBER } from '@app/redis';
import { sendRaw } from './support/raw-http';
import { startTestApp, testRedisUrl, type TestApp } from './support/test-app';
import { ValidationFixtureModule } from './support/validation-fixture';

/** What the app generates when the caller sends no acceptable id (libs/logging/src/request-id.ts). */
const GENERATED_REQUEST_ID = /^[0-9a-f]{16}-[1-9]\d*$/;

describe('foundation (embedded mode)', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({
      env: { BODY_LIMIT_BYTES: '2048', APP_NAME: 'VA under test', APP_VERSION: '9.9.9' },
      extraModules: [ValidationFixtureModule],
    });
  });
  afterAll(() => app.close());

  it('GET / answers the plain health body', async () => {
    const response = await request(app.baseUrl).get('/').expect(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.body).toEqual({ status: 'healthy', service: 'VA under test', version: '9.9.9' });
  });

  it('creates and migrates the SQLite file with the three shared tables', () => {
    expect(fs.existsSync(app.databaseFile)).toBe(true);
    const db = new Database(app.databaseFile, { readonly: true });
    const names = db
      .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .all()
      .map((row) => row.name);
    db.close();
    expect(names).toEqual(expect.arrayContaining(['system_settings', 'tasks', 'telegram_bots']));
  });

  it('provides no Redis connections without REDIS_URL', () => {
    expect(app.app.get(REDIS_CLIENT)).toBeNull();
    expect(app.app.get(REDIS_SUBSCRIBER)).toBeNull();
  });

  describe('errors are JSON in the {ok, say, result} shape', () => {
    it('unknown route → 404', async () => {
      const response = await request(app.baseUrl).get('/no/such/route').expect(404);
      expect(response.body).toEqual({
        ok: false,
        say: "Sorry, I couldn't find that resource.",
        result: { error: 'Not Found' },
      });
    });

    it('a known path asked with a method it does not take → 405 with Allow naming the ones it takes', async () => {
      for (const [method, url, allow] of [
        ['post', '/health', 'GET, HEAD'],
        ['delete', '/health/live?probe=1', 'GET, HEAD'],
        ['put', '/telegram/bots/7', 'PATCH'],
        ['get', '/telegram/webhook', 'DELETE, POST'],
      ] as const) {
        const response = await request(app.baseUrl)[method](url).send({});
        expect({ url, status: response.status, allow: response.headers.allow, body: response.body }).toEqual({
          url,
          status: 405,
          allow,
          body: { ok: false, say: `${method.toUpperCase()} is not served on this path: it takes ${allow}.`, result: { error: 'Method Not Allowed' } },
        });
      }
      const unknown = await request(app.baseUrl).post('/health/nope').send({}).expect(404);
      expect(unknown.headers.allow).toBeUndefined();
      // Fastify refuses an empty parameter under every method: a 404, not "PATCH … takes PATCH".
      const emptyParameter = await request(app.baseUrl).patch('/telegram/bots/').send({});
      expect([emptyParameter.status, emptyParameter.headers.allow]).toEqual([404, undefined]);
      for (const raw of ['POST * HTTP/1.1', 'OPTIONS * HTTP/1.1']) {
        const answer = await sendRaw(Number(new URL(app.baseUrl).port), `${raw}\r\nHost: t\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
        expect([raw, answer.status, answer.headers.allow]).toEqual([raw, 404, undefined]);
      }
    });

    it('malformed JSON → 400', async () => {
      const response = await request(app.baseUrl)
        .post('/health')
        .set('content-type', 'application/json')
        .send('{"broken": ')
        .expect(400);
      expect(response.body).toEqual({
        ok: false,
        say: expect.stringMatching(/JSON/),
        result: { error: 'Bad Request' },
      });
    });

    it('body over the limit → 413 naming the limit', async () => {
      const response = await request(app.baseUrl)
        .post('/health')
        .set('content-type', 'application/json')
        .send(JSON.stringify({ text: 'x'.repeat(4096) }))
        .expect(413);
      expect(response.body).toEqual({
        ok: false,
        say: 'Request body is too large: the limit is 2048 bytes.',
        result: { error: 'Payload Too Large' },
      });
    });
  });

  describe('validation and content types', () => {
    it('a DTO failure → 400 naming each field', async () => {
      const response = await request(app.baseUrl).post('/fixtures/echo').send({ name: '', count: 0 }).expect(400);
      expect(response.body).toMatchObject({ ok: false, result: { error: 'Bad Request' } });
      const fields = (response.body.result.fields as { field: string }[]).map((problem) => problem.field);
      expect(new Set(fields)).toEqual(new Set(['name', 'count']));
      expect(response.body.say).toMatch(/count must not be less than 1/);

      const ok = await request(app.baseUrl).post('/fixtures/echo').send({ name: 'a', count: 2 }).expect(201);
      expect(ok.body).toEqual({ ok: true, received: { name: 'a', count: 2 } });
    });

    it('a property the DTO does not declare → 400 naming it, not dropped on the way', async () => {
      const response = await request(app.baseUrl)
        .post('/fixtures/echo')
        .send({ name: 'a', count: 2, Count: 3, extra: 'x' })
        .expect(400);
      expect(response.body.result.fields).toEqual([
        { field: 'Count', message: 'Count is not a field this route takes' },
        { field: 'extra', message: 'extra is not a field this route takes' },
      ]);
      expect(response.body.say).toBe('Invalid request: Count is not a field this route takes; extra is not a field this route takes');
    });

    it('a property named as on every object (valueOf, constructor, toString) → 400 naming it too', async () => {
      const response = await request(app.baseUrl)
        .post('/fixtures/echo')
        .set('content-type', 'application/json')
        .send('{"name":"a","count":2,"valueOf":1,"constructor":{"x":1},"toString":"s","hasOwnProperty":true}')
        .expect(400);
      expect(response.body.result.fields.map((problem: { field: string }) => problem.field)).toEqual([
        'valueOf',
        'constructor',
        'toString',
        'hasOwnProperty',
      ]);
    });

    it('unsupported content type → 415 JSON', async () => {
      const response = await request(app.baseUrl)
        .post('/fixtures/echo')
        .set('content-type', 'application/xml')
        .send('<a/>')
        .expect(415);
      expect(response.body).toMatchObject({ ok: false, result: { error: 'Unsupported Media Type' } });
    });
  });

  describe('request ids and request logs', () => {
    it('honours and echoes an incoming X-Request-Id', async () => {
      const response = await request(app.baseUrl).get('/health').set('X-Request-Id', 'trace-abc-123').expect(200);
      expect(response.headers['x-request-id']).toBe('trace-abc-123');
    });

    it('generates one when absent or unacceptable, errors included', async () => {
      const plain = await request(app.baseUrl).get('/no/such/route').expect(404);
      expect(plain.headers['x-request-id']).toMatch(GENERATED_REQUEST_ID);
      const hostile = await request(app.baseUrl).get('/health').set('X-Request-Id', 'a b\tc').expect(200);
      expect(hostile.headers['x-request-id']).toMatch(GENERATED_REQUEST_ID);
    });

    it('writes one JSON line per request with id, method, path, status and duration', async () => {
      await request(app.baseUrl).get('/health?probe=1').set('X-Request-Id', 'log-line-check').expect(200);
      const lines = app.logs.lines.filter((line) => (line.req as { id?: string } | undefined)?.id === 'log-line-check');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({
        level: 30,
        req: { id: 'log-line-check', method: 'GET', path: '/health?probe=1' },
        res: { statusCode: 200 },
        durationMs: expect.any(Number),
      });
    });

    it('never logs secrets from headers or query parameters', async () => {
      const secrets = {
        authorization: 'Bearer bearer-secret-1',
        'x-admin-secret': 'admin-secret-2',
        'x-telegram-bot-api-secret-token': 'telegram-secret-3',
        'x-webhook-secret': 'webhook-secret-4',
        'x-cursor-runner-secret': 'runner-secret-5',
        'x-el-secret': 'el-secret-6',
      };
      await request(app.baseUrl)
        .get('/no/such/route?secret=query-secret-7&admin_secret=query-secret-8&keep=visible')
        .set(secrets)
        .set('X-Request-Id', 'redaction-check')
        .expect(404);
      const line = app.logs.raw.find((raw) => raw.includes('redaction-check'));
      expect(line).toBeDefined();
      for (const secret of [...Object.values(secrets), 'query-secret-7', 'query-secret-8']) {
        expect(line).not.toContain(secret.replace('Bearer ', ''));
      }
      expect(line).toContain('keep=visible');
      expect(line).toContain('secret=%5BRedacted%5D&admin_secret=%5BRedacted%5D');
    });
  });
});

describe('foundation (with Redis)', () => {
  it('opens a command client and a separate subscriber, and closes both on shutdown', async () => {
    const app = await startTestApp({ env: { REDIS_URL: testRedisUrl() } });
    const client = app.app.get<Redis>(REDIS_CLIENT);
    const subscriber = app.app.get<Redis>(REDIS_SUBSCRIBER);
    expect(client).not.toBe(subscriber);
    expect(await client.ping()).toBe('PONG');
    // The subscriber carries the cache invalidation channel, so it answers in subscriber mode.
    expect(subscriber.status).toBe('ready');
    const [, subscribers] = (await client.pubsub('NUMSUB', app.config.cache.invalidationChannel)) as [string, number];
    expect(subscribers).toBeGreaterThanOrEqual(1);
    expect(await subscriber.ping()).toEqual(['pong', '']);
    await app.close();
    expect(client.status).toBe('end');
    expect(subscriber.status).toBe('end');
  });

  it('logs a connection outage once, not per retry', async () => {
    const { freePort } = await import('./support/redis-server');
    const app = await startTestApp({ env: { REDIS_URL: `redis://127.0.0.1:${await freePort()}` } });
    // Wait until the client has tried again three times: one line for all of them, not one per retry.
    const client = app.app.get<Redis>(REDIS_CLIENT);
    await new Promise<void>((resolve, reject) => {
      let retries = 0;
      const deadline = setTimeout(() => reject(new Error(`only ${retries} reconnect attempts within 10 s`)), 10_000);
      client.on('reconnecting', () => {
        retries += 1;
        if (retries < 3) return;
        clearTimeout(deadline);
        resolve();
      });
    });
    const downLines = app.logs.lines.filter((line) => /Redis client connection down/.test(String(line.msg)));
    await app.close();
    expect(downLines).toHaveLength(1);
    expect(downLines[0]).toMatchObject({ level: 40, context: 'Redis' });
  });
});
