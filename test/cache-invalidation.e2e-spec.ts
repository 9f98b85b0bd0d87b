import { randomUUID } from 'node:crypto';
import * as os from 'node:os';
import Redis from 'ioredis';
import request from 'supertest';
import { CacheRegistry, type NamespaceCache } from '@app/cache';
import { CacheInvalidationService } from '@app/cache-invalidation';
import { REDIS_SUBSCRIBER } from '@app/redis';
import { FLEET_CACHE, FleetFixturesModule } from './support/fleet-fixtures';
import { busOf as bus, PROPAGATION_BOUND_MS, within } from './support/invalidation-bus';
import { startRedisServer, type RedisServerProcess } from './support/redis-server';
import { startTestApp, testRedisUrl, type TestApp } from './support/test-app';

const ADMIN = { 'X-Admin-Secret': 'test-webhook-secret' };

interface Fleet {
  a: TestApp;
  b: TestApp;
  prefix: string;
  channel: string;
}

/** Two instances of the app sharing one database, one Redis, one key prefix and one channel. */
async function startFleet(): Promise<Fleet> {
  const prefix = `t-${randomUUID().slice(0, 8)}`;
  // A channel of its own keeps parallel test runs on the same Redis from counting each other's events.
  const channel = `cache:invalidation:${prefix}`;
  const env = { REDIS_URL: testRedisUrl(), CACHE_KEY_PREFIX: prefix, CACHE_INVALIDATION_CHANNEL: channel };
  const a = await startTestApp({ env, extraModules: [FleetFixturesModule] });
  const b = await startTestApp({ env, databaseFile: a.databaseFile, extraModules: [FleetFixturesModule] });
  return { a, b, prefix, channel };
}

const fleetCache = (app: TestApp): NamespaceCache => app.app.get(CacheRegistry).namespace(FLEET_CACHE);

describe('cross-instance invalidation over Redis pub/sub', () => {
  let fleet: Fleet;
  let redis: Redis;

  beforeAll(async () => {
    fleet = await startFleet();
    redis = new Redis(testRedisUrl());
  });
  afterAll(async () => {
    await Promise.all([fleet.a.close(), fleet.b.close()]);
    await redis.quit();
  });

  async function cacheOnBoth(name: string): Promise<void> {
    for (const app of [fleet.a, fleet.b]) await request(app.baseUrl).get(`/fleet/settings/${name}`).expect(200);
    for (const app of [fleet.a, fleet.b]) expect(fleetCache(app).peek(['setting', name])).toBeDefined();
  }

  it('serves B the value A just wrote: B drops its L1 copy within the bound', async () => {
    await cacheOnBoth('debug');
    const before = await request(fleet.b.baseUrl).get('/fleet/settings/debug').expect(200);
    expect(before.body).toEqual({ name: 'debug', value: 0 });
    const appliedBefore = bus(fleet.b).applied;

    await request(fleet.a.baseUrl).put('/fleet/settings/debug').send({ enabled: true }).expect(200);
    const waited = await within(PROPAGATION_BOUND_MS, () => fleetCache(fleet.b).peek(['setting', 'debug']) === undefined, "B's L1 drop");

    expect(waited).toBeLessThan(PROPAGATION_BOUND_MS);
    const after = await request(fleet.b.baseUrl).get('/fleet/settings/debug').expect(200);
    expect(after.body).toEqual({ name: 'debug', value: 1 });
    expect(bus(fleet.b).applied).toBe(appliedBefore + 1);
    // A's own event came back to it and was skipped, not applied twice.
    expect(bus(fleet.a).ignored).toBeGreaterThanOrEqual(1);
  });

  it('drops B\'s L1 copy of a key A sets (set, @CachePut, CACHE_MANAGER.set): B answers the new value', async () => {
    const appliedAtStart = bus(fleet.b).applied;
    await fleetCache(fleet.a).set(['set', 'k'], 'v1');
    // B reads once it has heard the first write: hearing it while reading keeps what it read out of L1.
    await within(PROPAGATION_BOUND_MS, () => bus(fleet.b).applied === appliedAtStart + 1, "B's hearing of the first write");
    expect(await fleetCache(fleet.b).get(['set', 'k'])).toBe('v1');
    expect(fleetCache(fleet.b).peek(['set', 'k'])).toBe('v1');
    const appliedBefore = bus(fleet.b).applied;

    await fleetCache(fleet.a).set(['set', 'k'], 'v2');
    await within(PROPAGATION_BOUND_MS, () => fleetCache(fleet.b).peek(['set', 'k']) === undefined, "B's L1 drop");
    expect(await fleetCache(fleet.b).get(['set', 'k'])).toBe('v2');
    expect(bus(fleet.b).applied).toBe(appliedBefore + 1);
  });

  it('takes a tag holding a lone surrogate, as JSON may carry one: invalidated in L2, not a 500', async () => {
    const tag = 'lone-\ud800';
    await fleetCache(fleet.a).set(['surrogate', '\udc00'], 1, { tags: [tag] });
    const response = await request(fleet.a.baseUrl)
      .post('/admin/cache/invalidate')
      .set({ ...ADMIN, 'Content-Type': 'application/json' })
      .send('{"tags":["lone-\\ud800"]}')
      .expect(200);
    expect(response.body).toMatchObject({ l2Removed: 1, published: true });
    expect(await fleetCache(fleet.b).get(['surrogate', '\udc00'])).toBeUndefined();
  });

  it('never puts values on the channel: events name keys only', async () => {
    const listener = new Redis(testRedisUrl());
    const messages: string[] = [];
    await listener.subscribe(fleet.channel);
    listener.on('message', (_channel: string, message: string) => messages.push(message));
    await cacheOnBoth('allow_audio_output');
    await request(fleet.a.baseUrl).put('/fleet/settings/allow_audio_output').send({ enabled: true }).expect(200);
    await within(PROPAGATION_BOUND_MS, () => messages.length === 1, 'the event');
    await listener.quit();

    const event = JSON.parse(messages[0]) as Record<string, unknown>;
    expect(event).toEqual({
      v: 1,
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      origin: fleet.a.app.get(CacheInvalidationService).instanceId,
      app: fleet.prefix,
      sentAt: expect.any(Number),
      targets: [{ namespace: 'fleet', keys: ['setting:allow_audio_output'] }],
    });
  });

  it('invalidates by tag in L2 and in both instances\' L1, and says how many L2 entries went', async () => {
    await cacheOnBoth('tag_one');
    await cacheOnBoth('tag_two');
    const l2Keys = ['tag_one', 'tag_two'].map((name) => fleetCache(fleet.a).key(['setting', name]));
    expect(await redis.exists(...l2Keys)).toBe(2);

    const response = await request(fleet.a.baseUrl)
      .post('/admin/cache/invalidate')
      .set(ADMIN)
      .send({ tags: ['settings'] })
      .expect(200);

    expect(response.body).toMatchObject({ l2Deferred: false, published: true, eventId: expect.any(String) });
    expect(response.body.l2Removed).toBeGreaterThanOrEqual(2);
    expect(await redis.exists(...l2Keys)).toBe(0);
    expect(fleetCache(fleet.a).peek(['setting', 'tag_one'])).toBeUndefined();
    await within(PROPAGATION_BOUND_MS, () => fleetCache(fleet.b).peek(['setting', 'tag_two']) === undefined, "B's tag drop");
    expect(fleetCache(fleet.b).peek(['setting', 'tag_one'])).toBeUndefined();
  });

  it('invalidates a whole namespace in L2 (SCAN + UNLINK) and in both instances\' L1', async () => {
    await cacheOnBoth('ns_one');
    const response = await request(fleet.b.baseUrl)
      .post('/admin/cache/invalidate')
      .set(ADMIN)
      .send({ namespaces: ['fleet'] })
      .expect(200);

    expect(response.body).toMatchObject({ namespaces: ['fleet'], l2Deferred: false, published: true });
    expect(response.body.l2Removed).toBeGreaterThanOrEqual(1);
    const [, left] = await redis.scan('0', 'MATCH', `${fleet.prefix}:*:fleet:*`, 'COUNT', 1000);
    expect(left).toEqual([]);
    expect(fleetCache(fleet.b).snapshot().size).toBe(0);
    await within(PROPAGATION_BOUND_MS, () => fleetCache(fleet.a).snapshot().size === 0, "A's namespace drop");
  });

  it('invalidates by full key through the admin route', async () => {
    await cacheOnBoth('by_key');
    const key = fleetCache(fleet.a).key(['setting', 'by_key']);
    const response = await request(fleet.a.baseUrl)
      .post('/admin/cache/invalidate')
      .set(ADMIN)
      .send({ keys: [key] })
      .expect(200);

    expect(response.body).toEqual({
      eventId: expect.any(String),
      l2Removed: 1,
      l2Deferred: false,
      l1Removed: 1,
      namespaces: ['fleet'],
      published: true,
    });
    await within(PROPAGATION_BOUND_MS, () => fleetCache(fleet.b).peek(['setting', 'by_key']) === undefined, "B's key drop");
  });

  it('drops and counts malformed or unknown messages without changing anything', async () => {
    await cacheOnBoth('survivor');
    const before = [bus(fleet.a), bus(fleet.b)];
    const valid = {
      v: 1,
      id: randomUUID(),
      origin: 'someone-else',
      app: fleet.prefix,
      sentAt: Date.now(),
      targets: [{ namespace: 'fleet', keys: ['setting:survivor'] }],
    };
    const bad = [
      'not json at all',
      JSON.stringify({ ...valid, v: 2 }),
      JSON.stringify({ ...valid, value: 'a value must never ride along' }),
      JSON.stringify({ ...valid, targets: [{ namespace: 'fleet', keys: 'setting:survivor' }] }),
      JSON.stringify({ ...valid, targets: [] }),
    ];
    for (const message of bad) await redis.publish(fleet.channel, message);

    for (const [index, app] of [fleet.a, fleet.b].entries()) {
      await within(PROPAGATION_BOUND_MS, () => bus(app).rejected === before[index].rejected + bad.length, 'the rejections');
      expect(bus(app).applied).toBe(before[index].applied);
      expect(fleetCache(app).peek(['setting', 'survivor'])).toEqual({ name: 'survivor', value: 0 });
    }
    const warning = fleet.b.logs.lines.find((line) => String(line.msg).includes('Dropped a malformed message'));
    expect(warning).toBeDefined();
    expect(JSON.stringify(warning)).not.toContain('a value must never ride along');
  });

  it('ignores events of another app sharing the Redis and channel', async () => {
    await cacheOnBoth('other_app');
    const before = bus(fleet.b);
    await redis.publish(
      fleet.channel,
      JSON.stringify({
        v: 1,
        id: randomUUID(),
        origin: 'another-app-instance',
        app: 'another-app',
        sentAt: Date.now(),
        targets: [{ namespace: 'fleet', all: true }],
      }),
    );
    await within(PROPAGATION_BOUND_MS, () => bus(fleet.b).ignored === before.ignored + 1, 'the skip');
    expect(fleetCache(fleet.b).peek(['setting', 'other_app'])).toBeDefined();
    expect(bus(fleet.b).applied).toBe(before.applied);
  });

  it('clears L1 when the subscriber connection drops and comes back, and says so', async () => {
    await cacheOnBoth('before_gap');
    const subscriber = fleet.b.app.get<Redis>(REDIS_SUBSCRIBER);
    const resyncsBefore = bus(fleet.b).resyncs;
    const address = `127.0.0.1:${subscriber.stream.localPort}`;

    expect(await redis.client('KILL', 'ADDR', address)).toBe(1);

    await within(5_000, () => bus(fleet.b).resyncs === resyncsBefore + 1, 'the resync');
    expect(fleetCache(fleet.b).snapshot().size).toBe(0);
    expect(fleetCache(fleet.a).peek(['setting', 'before_gap'])).toBeDefined();
    expect(bus(fleet.b).subscribed).toBe(true);
    expect(fleet.b.logs.lines.some((line) => String(line.msg).includes('cleared L1'))).toBe(true);

    // Subscribed again: the next write on A reaches B.
    await cacheOnBoth('after_gap');
    await request(fleet.a.baseUrl).put('/fleet/settings/after_gap').send({ enabled: true }).expect(200);
    await within(PROPAGATION_BOUND_MS, () => fleetCache(fleet.b).peek(['setting', 'after_gap']) === undefined, "B's drop");
  });

  it('puts the lag of each applied event into /metrics: one observation per event B applied, within the bound', async () => {
    const lagOf = async (app: TestApp) => {
      const text = (await request(app.baseUrl).get('/metrics').expect(200)).text;
      const value = (series: string) => Number(new RegExp(`^${series}\\{[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1]);
      return { count: value('cache_invalidation_lag_seconds_count'), sum: value('cache_invalidation_lag_seconds_sum') };
    };
    await cacheOnBoth('lag');
    const before = await lagOf(fleet.b);
    const appliedBefore = bus(fleet.b).applied;
    await request(fleet.a.baseUrl).put('/fleet/settings/lag').send({ enabled: true }).expect(200);
    await within(PROPAGATION_BOUND_MS, () => bus(fleet.b).applied > appliedBefore, 'B applying the event');

    const after = await lagOf(fleet.b);
    expect(after.count - before.count).toBe(bus(fleet.b).applied - appliedBefore);
    expect(after.sum - before.sum).toBeGreaterThanOrEqual(0);
    expect(after.sum - before.sum).toBeLessThan((PROPAGATION_BOUND_MS / 1000) * (after.count - before.count));
  });

  it('reports the bus in /admin/cache/stats and /metrics', async () => {
    const stats = await request(fleet.a.baseUrl).get('/admin/cache/stats').set(ADMIN).expect(200);
    expect(stats.body.invalidationBus).toEqual({
      transport: 'redis',
      channel: fleet.channel,
      instanceId: fleet.a.app.get(CacheInvalidationService).instanceId,
      subscribed: true,
      silences: 0,
      published: expect.any(Number),
      publishFailures: 0,
      resent: 0,
      unsentNamespaces: 0,
      received: expect.any(Number),
      applied: expect.any(Number),
      rejected: expect.any(Number),
      ignored: expect.any(Number),
      resyncs: 0,
    });
    expect(stats.body.invalidationBus.published).toBeGreaterThan(0);
    const metrics = await request(fleet.a.baseUrl).get('/metrics').expect(200);
    expect(metrics.text).toContain(`cache_invalidation_events_total{outcome="published",service="Virtual Assistant API",role="all",instance_id="${os.hostname()}"} ${stats.body.invalidationBus.published}`);
    expect(metrics.text).toContain(`cache_invalidation_subscribed{service="Virtual Assistant API",role="all",instance_id="${os.hostname()}"} 1`);
  });
});

describe('invalidation while Redis is down', () => {
  it('lets the write succeed, counts the lost event, then resyncs L1 when Redis returns', async () => {
    let server: RedisServerProcess = await startRedisServer();
    const app = await startTestApp({
      env: { REDIS_URL: server.url, CACHE_KEY_PREFIX: `t-${randomUUID().slice(0, 8)}` },
      extraModules: [FleetFixturesModule],
    });
    try {
      await request(app.baseUrl).get('/fleet/settings/outage').expect(200);
      await server.stop();

      const write = await request(app.baseUrl).put('/fleet/settings/outage').send({ enabled: true }).expect(200);
      expect(write.body).toEqual({ name: 'outage', value: 1 });
      expect(bus(app)).toMatchObject({ publishFailures: 1, subscribed: false });
      expect(app.logs.lines.filter((line) => String(line.msg).includes('Could not publish invalidation event'))).toHaveLength(1);
      const read = await request(app.baseUrl).get('/fleet/settings/outage').expect(200);
      expect(read.body).toEqual({ name: 'outage', value: 1 });

      server = await startRedisServer(server.port);
      await within(5_000, () => bus(app).resyncs === 1 && bus(app).subscribed, 'the resubscription');
      expect(fleetCache(app).snapshot().size).toBe(0);
    } finally {
      await app.close();
      await server.stop();
    }
  });
});

describe('POST /admin/cache/invalidate input', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ extraModules: [FleetFixturesModule] });
  });
  afterAll(() => app.close());

  const invalidate = () => request(app.baseUrl).post('/admin/cache/invalidate');

  it('requires the admin secret', async () => {
    const response = await invalidate().send({ namespaces: ['fleet'] }).expect(401);
    expect(response.body.ok).toBe(false);
    await invalidate().set({ 'X-Admin-Secret': 'wrong' }).send({ namespaces: ['fleet'] }).expect(401);
  });

  it.each([
    [{}, 'Name at least one of keys, tags or namespaces to invalidate'],
    [{ keys: [], tags: [] }, 'Name at least one of keys, tags or namespaces to invalidate'],
    [{ namespaces: ['nope'] }, 'Unknown cache namespace(s): nope'],
    [{ keys: ['someone-else:1:fleet:x'] }, 'is not a key of this app\'s cache'],
    [{ keys: ['jarek-va:1:nope:x'] }, 'is not a key of this app\'s cache'],
  ])('refuses %j with a 400 that says why', async (body, message) => {
    const response = await invalidate().set(ADMIN).send(body).expect(400);
    expect(response.body).toEqual({ ok: false, say: expect.stringContaining(message), result: { error: 'Bad Request' } });
  });

  it.each([
    [{ keys: 'one' }, 'keys'],
    [{ tags: [1, 2] }, 'tags'],
    [{ namespaces: [''] }, 'namespaces'],
  ])('refuses the malformed body %j naming the field', async (body, field) => {
    const response = await invalidate().set(ADMIN).send(body).expect(400);
    expect(response.body.result.fields.map((problem: { field: string }) => problem.field)).toContain(field);
  });

  it('refuses a body that is not JSON', async () => {
    const response = await invalidate().set(ADMIN).set('Content-Type', 'application/json').send('{"keys": [').expect(400);
    expect(response.body.ok).toBe(false);
  });

  it('works in the embedded mode (no Redis): drops L1 in-process and reports the local transport', async () => {
    await request(app.baseUrl).get('/fleet/settings/embedded').expect(200);
    const cache = fleetCache(app);
    expect(cache.peek(['setting', 'embedded'])).toBeDefined();

    const response = await invalidate().set(ADMIN).send({ tags: ['settings'] }).expect(200);

    expect(response.body).toEqual({
      eventId: expect.any(String),
      l2Removed: 0,
      l2Deferred: false,
      l1Removed: 1,
      namespaces: expect.arrayContaining(['fleet', 'default', 'http']),
      published: true,
    });
    expect(cache.peek(['setting', 'embedded'])).toBeUndefined();
    expect(app.app.get(CacheInvalidationService).status()).toMatchObject({ transport: 'local', published: 1 });
  });
});
