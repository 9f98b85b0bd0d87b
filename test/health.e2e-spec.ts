import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import Redis from 'ioredis';
import request from 'supertest';
import { REDIS_CLIENT, redisConnectionOptions } from '@app/redis';
import { QUEUES_UP_REUSE_MS } from '../apps/api/src/health';
import { TcpProxy } from './support/faults/tcp-proxy';
import { startRedisServer, type RedisServerProcess } from './support/redis-server';
import { startTestApp, type TestApp } from './support/test-app';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const IDENTITY = { APP_NAME: 'VA under test', APP_VERSION: '9.9.9' };
const LIVE_BODY = { status: 'ok', info: {}, error: {}, details: {} };
const up = (extra: Record<string, unknown> = {}) => ({ status: 'up', durationMs: expect.any(Number), ...extra });
const QUEUES = up({ queues: ['result-deliveries', 'telegram-updates'] });
const HEALTHY_WITH_REDIS = {
  redis: up(),
  cache: up({ circuit: 'closed' }),
  queues: QUEUES,
  database: up(),
};

/**
 * Polls `path` until it answers `status` — with every check in `down` reported down, when given —
 * for at most `deadlineMs`; returns that response. The `queues` check reuses an answer that all was
 * well for up to a second, so it may report down a probe or two after the others.
 */
async function untilStatus(app: TestApp, path: string, status: number, deadlineMs = 15_000, down: string[] = []): Promise<request.Response> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const response = await request(app.baseUrl).get(path);
    if (response.status === status && down.every((check) => response.body.error?.[check] !== undefined)) return response;
    if (Date.now() > deadline) throw new Error(`${path} still answers ${response.status}: ${JSON.stringify(response.body)}`);
    await sleep(50);
  }
}

function connect(url: string): Redis {
  const redis = new Redis(url, redisConnectionOptions);
  redis.on('error', () => undefined);
  return redis;
}

/** Calls per command since the last `CONFIG RESETSTAT`, from `INFO commandstats`. */
async function commandCalls(redis: Redis): Promise<Record<string, number>> {
  const calls: Record<string, number> = {};
  for (const match of (await redis.info('commandstats')).matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) {
    calls[match[1]] = Number(match[2]);
  }
  return calls;
}

function warningsOf(app: TestApp, text: string): unknown[] {
  return app.logs.lines.filter((line) => String(line.msg).includes(text));
}

describe('health with Redis', () => {
  let server: RedisServerProcess;
  let app: TestApp;
  let admin: Redis;
  const prefix = `health-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    server = await startRedisServer();
    admin = connect(server.url);
    app = await startTestApp({
      env: {
        ...IDENTITY,
        REDIS_URL: server.url,
        CACHE_KEY_PREFIX: prefix,
        CACHE_BREAKER_FAILURES: '2',
        CACHE_BREAKER_COOLDOWN_MS: '200',
        // The default 50 ms L2 budget can run out once under the whole suite's load (one CI run read
        // l2Errors 1 on a healthy boot); the errors counted below come from a stopped Redis, which fails at once.
        CACHE_L2_TIMEOUT_MS: '1000',
        // The invalidation subscriber's heartbeat PINGs too; at this interval none falls in the counts below.
        CACHE_INVALIDATION_HEARTBEAT_MS: '60000',
      },
    });
  });
  afterAll(async () => {
    await app.close();
    admin.disconnect();
    await server.stop();
  });

  it('answers 200 on live, ready and the full report, none of them cacheable', async () => {
    const live = await request(app.baseUrl).get('/health/live').expect(200);
    expect(live.body).toEqual(LIVE_BODY);
    expect(live.headers['cache-control']).toBe('no-cache, no-store, must-revalidate');

    const ready = await request(app.baseUrl).get('/health/ready').expect(200);
    expect(ready.body).toEqual({ status: 'ok', info: HEALTHY_WITH_REDIS, error: {}, details: HEALTHY_WITH_REDIS });
    expect(ready.headers['cache-control']).toBe('no-cache, no-store, must-revalidate');

    const report = await request(app.baseUrl).get('/health').expect(200);
    expect(report.body).toEqual({
      status: 'ok',
      service: 'VA under test',
      version: '9.9.9',
      info: HEALTHY_WITH_REDIS,
      error: {},
      details: HEALTHY_WITH_REDIS,
      cache: {
        l2Configured: true,
        circuit: 'closed',
        circuitOpenings: 0,
        pendingInvalidations: 0,
        namespaces: expect.any(Number),
        l1Entries: 0,
        l1Hits: 0,
        l2Hits: 0,
        misses: 0,
        l2Errors: 0,
        hitRate: 0,
      },
    });
  });

  it("sends PING, a set by the cache's store script, a get and a delete of its probe key and a count per queue, and leaves no key behind", async () => {
    await request(app.baseUrl).get('/health/ready').expect(200);
    await sleep(QUEUES_UP_REUSE_MS);
    await admin.config('RESETSTAT');
    await request(app.baseUrl).get('/health/ready').expect(200);
    const calls = await commandCalls(admin);
    expect({ ping: calls.ping, evalsha: calls.evalsha, set: calls.set, get: calls.get, unlink: calls.unlink }).toEqual({
      ping: 1,
      // The cache's store script, and BullMQ's count script once per queue.
      evalsha: 3,
      set: 1,
      get: 1,
      unlink: 1,
    });
    // Within a second the queues' answer is reused: the next probe sends the cache's script alone.
    await request(app.baseUrl).get('/health/ready').expect(200);
    expect((await commandCalls(admin)).evalsha).toBe(4);
    expect(await admin.keys(`${prefix}:*`)).toEqual([]);
  });

  it('with Redis stopped: ready 503 naming redis and cache, live 200; ready again once Redis is back', async () => {
    await server.stop();
    try {
      const notReady = await untilStatus(app, '/health/ready', 503, 15_000, ['redis', 'cache', 'queues']);
      const down = {
        redis: { status: 'down', reason: expect.stringMatching(/^connection is (connecting|reconnecting|close)$/) },
        cache: {
          status: 'down',
          // What the client says of a connection that is not open (the cache fails at once: no offline queue).
          reason: expect.stringMatching(/^(Stream isn't writeable|Connection is closed)/),
        },
        queues: { status: 'down', reason: expect.stringMatching(/^result-deliveries: (Stream isn't writeable|Connection is closed)/) },
      };
      expect(notReady.body).toEqual({
        status: 'error',
        info: { database: up() },
        error: down,
        details: { ...down, database: up() },
      });
      expect((await request(app.baseUrl).get('/health/live').expect(200)).body).toEqual(LIVE_BODY);

      const report = await request(app.baseUrl).get('/health').expect(503);
      expect(report.body).toMatchObject({
        status: 'error',
        service: 'VA under test',
        error: { redis: { status: 'down' }, cache: { status: 'down' }, queues: { status: 'down' } },
        // The probe runs outside the cache's breaker: with no cache traffic meanwhile, nothing opened it.
        cache: { l2Configured: true, circuit: 'closed' },
      });
    } finally {
      server = await startRedisServer(server.port);
    }

    const ready = await untilStatus(app, '/health/ready', 200);
    expect(ready.body.details).toEqual(HEALTHY_WITH_REDIS);
    expect(warningsOf(app, 'Readiness: redis is down')).toHaveLength(1);
    expect(warningsOf(app, 'Readiness: redis is up again')).toHaveLength(1);
    expect(warningsOf(app, 'Readiness: cache is down')).toHaveLength(1);
    expect(warningsOf(app, 'Readiness: queues is down')).toHaveLength(1);
    // Probes are not logged per request, failed or not; the 503 of /health is one access line, no stack.
    const requestLines = app.logs.lines.filter((line) => line.req !== undefined) as { req: { path: string }; res: { statusCode: number } }[];
    expect(requestLines.filter((line) => /^\/health\/(live|ready)/.test(line.req.path))).toEqual([]);
    expect(requestLines.filter((line) => line.req.path === '/health' && line.res.statusCode === 503)).toHaveLength(1);
    expect(app.logs.raw.filter((raw) => raw.includes('/health') && raw.includes('"stack"'))).toEqual([]);
  });
});

describe('health on a Redis slower than cache reads allow', () => {
  it('stays ready: the cache is up with the time its round trip took, though its reads miss', async () => {
    const server = await startRedisServer();
    const proxy = await TcpProxy.start(server.port);
    const app = await startTestApp({ env: { ...IDENTITY, REDIS_URL: proxy.url, CACHE_KEY_PREFIX: `slow-${randomUUID().slice(0, 8)}` } });
    try {
      // The first probe on a new Redis also sends the store script's source (NOSCRIPT): one round trip more, once.
      await request(app.baseUrl).get('/health/ready').expect(200);
      // Each answer 200 ms late: four times CACHE_L2_TIMEOUT_MS (50 ms), within HEALTH_CHECK_TIMEOUT_MS (500 ms)
      // for one round trip — not for three made one after another.
      proxy.answerDelayMs = 200;
      for (let probe = 0; probe < 3; probe += 1) {
        const ready = await request(app.baseUrl).get('/health/ready');
        expect({ status: ready.status, redis: ready.body.details.redis.status, cache: ready.body.details.cache.status }).toEqual({
          status: 200,
          redis: 'up',
          cache: 'up',
        });
        // Set, get and delete leave together: one round trip held 200 ms.
        expect(ready.body.details.cache.durationMs).toBeGreaterThanOrEqual(200);
        expect(ready.body.details.cache.durationMs).toBeLessThan(400);
      }
    } finally {
      proxy.answerDelayMs = 0;
      await app.close();
      await proxy.stop();
      await server.stop();
    }
  });
});

describe('health on a Redis whose ACL refuses scripts', () => {
  let server: RedisServerProcess;
  let admin: Redis;
  let app: TestApp;

  const cachePrefix = `acl-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    server = await startRedisServer();
    admin = connect(server.url);
    app = await startTestApp({ env: { ...IDENTITY, REDIS_URL: server.url, CACHE_KEY_PREFIX: cachePrefix } });
  });
  afterAll(async () => {
    await app.close();
    admin.disconnect();
    await server.stop();
  });

  it.each(['-@scripting', '-evalsha'])('is not ready under %s, naming the refusal: the cache stores and the job queues run scripts by their SHA', async (rule) => {
    await untilStatus(app, '/health/ready', 200);
    // Takes effect on the app's connections at once: they are the default user's.
    await admin.call('ACL', 'SETUSER', 'default', rule);
    try {
      const refused = await untilStatus(app, '/health/ready', 503, 15_000, ['cache', 'queues']);
      const refusal = { status: 'down', reason: expect.stringMatching(/NOPERM.*evalsha/i) };
      expect(refused.body.error).toEqual({ cache: refusal, queues: { ...refusal, reason: expect.stringMatching(/^result-deliveries: NOPERM.*evalsha/i) } });
      expect(refused.body.details.redis.status).toBe('up');
    } finally {
      await admin.call('ACL', 'SETUSER', 'default', '+@all');
    }
    await untilStatus(app, '/health/ready', 200);
  });

  it("is not ready while the ACL keeps the cache's keys but not the job queues': the webhook and the callbacks could not queue their work", async () => {
    await untilStatus(app, '/health/ready', 200);
    await admin.call('ACL', 'SETUSER', 'default', 'resetkeys', `~${cachePrefix}:*`);
    try {
      const refused = await untilStatus(app, '/health/ready', 503);
      expect(refused.body.error).toEqual({ queues: { status: 'down', reason: expect.stringMatching(/^result-deliveries: NOPERM/) } });
      expect(refused.body.details.cache.status).toBe('up');
    } finally {
      await admin.call('ACL', 'SETUSER', 'default', '~*');
    }
    await untilStatus(app, '/health/ready', 200);
  });

  it('stays ready when Redis forgets its scripts (SCRIPT FLUSH, as after a restart): the probe sends the source once', async () => {
    await untilStatus(app, '/health/ready', 200);
    await admin.script('FLUSH');
    await request(app.baseUrl).get('/health/ready').expect(200);
    await admin.config('RESETSTAT');
    await request(app.baseUrl).get('/health/ready').expect(200);
    expect((await commandCalls(admin)).eval).toBeUndefined();
  });
});

describe('health probes on a Redis that stops answering', () => {
  it('share one PING however many probes arrive, and each answers within its timeout', async () => {
    const server = await startRedisServer();
    const blocker = connect(server.url);
    const app = await startTestApp({
      env: {
        REDIS_URL: server.url,
        CACHE_KEY_PREFIX: `health-${randomUUID().slice(0, 8)}`,
        HEALTH_CHECK_TIMEOUT_MS: '200',
        // The invalidation subscriber's heartbeat PINGs too; its first one comes after the count.
        CACHE_INVALIDATION_HEARTBEAT_MS: '60000',
      },
    });
    try {
      await request(app.baseUrl).get('/health/ready').expect(200);
      await blocker.config('RESETSTAT');
      // A busy script holds the whole server for 2 s, as a Redis stuck on a slow command would.
      const blocked = blocker.eval(
        `local t0 = redis.call('TIME')
         repeat local t = redis.call('TIME') until (t[1] - t0[1]) * 1000000 + (t[2] - t0[2]) > 2000000
         return 1`,
        0,
      );
      await sleep(50);
      for (let wave = 0; wave < 2; wave += 1) {
        const answers = await Promise.all(Array.from({ length: 10 }, () => request(app.baseUrl).get('/health/ready')));
        for (const answer of answers) {
          expect(answer.status).toBe(503);
          expect(answer.body.error.redis).toEqual({ status: 'down', reason: 'no answer within 200 ms' });
          expect(answer.body.details.database.status).toBe('up');
        }
      }
      await blocked;
      // Commands on one connection run in order: once this answers, the probes' PING has run.
      await app.app.get<Redis>(REDIS_CLIENT).echo('after the probes');
      expect((await commandCalls(blocker)).ping).toBe(1);
      await untilStatus(app, '/health/ready', 200);
    } finally {
      await app.close();
      blocker.disconnect();
      await server.stop();
    }
  });
});

describe('health in the embedded mode (no Redis)', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ env: IDENTITY });
  });
  afterAll(() => app.close());

  const EMBEDDED = { redis: { status: 'up', configured: false }, cache: { status: 'up', configured: false }, queues: QUEUES, database: up() };

  it('reports Redis and L2 as not configured and is ready', async () => {
    const ready = await request(app.baseUrl).get('/health/ready').expect(200);
    expect(ready.body).toEqual({ status: 'ok', info: EMBEDDED, error: {}, details: EMBEDDED });

    const report = await request(app.baseUrl).get('/health').expect(200);
    expect(report.body).toEqual({
      status: 'ok',
      service: 'VA under test',
      version: '9.9.9',
      info: EMBEDDED,
      error: {},
      details: EMBEDDED,
      cache: {
        l2Configured: false,
        circuit: 'disabled',
        circuitOpenings: 0,
        pendingInvalidations: 0,
        namespaces: expect.any(Number),
        l1Entries: 0,
        l1Hits: 0,
        l2Hits: 0,
        misses: 0,
        l2Errors: 0,
        hitRate: 0,
      },
    });
    expect((await request(app.baseUrl).get('/').expect(200)).body).toEqual({
      status: 'healthy',
      service: 'VA under test',
      version: '9.9.9',
    });
  });

  it('with the database file overwritten: ready 503 naming the database, live still 200', async () => {
    await request(app.baseUrl).get('/health/ready').expect(200);
    fs.writeFileSync(app.databaseFile, Buffer.alloc(fs.statSync(app.databaseFile).size, 0x5a));

    const ready = await request(app.baseUrl).get('/health/ready').expect(503);
    const down = { status: 'down', reason: expect.stringContaining('file is not a database') };
    expect(ready.body).toEqual({
      status: 'error',
      info: { redis: EMBEDDED.redis, cache: EMBEDDED.cache, queues: EMBEDDED.queues },
      error: { database: down },
      details: { ...EMBEDDED, database: down },
    });
    expect((await request(app.baseUrl).get('/health/live').expect(200)).body).toEqual(LIVE_BODY);
    expect((await request(app.baseUrl).get('/health').expect(503)).body).toMatchObject({
      status: 'error',
      error: { database: down },
    });
  });
});
