import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { CacheRegistry } from '@app/cache';
import { SettingsService } from '../apps/api/src/settings';
import { callTool } from './support/agent-tools-client';
import { heardBy } from './support/invalidation-bus';
import { startTestApp, testRedisUrl, type TestApp } from './support/test-app';

/**
 * Two instances of the app sharing one SQLite file and one Redis under one key prefix: a fleet.
 * A write on A must be what B answers next, even when B had the old value cached in its own L1 —
 * that needs A's eviction to reach B's L1 (the cross-instance invalidation bus), not only Redis.
 * B's L1 drops its copy when the event reaches it, which may be just after A has answered
 * ({@link heardBy}); what is only in Redis is gone before A answers.
 */
describe('settings and tasks across two instances', () => {
  let a: TestApp;
  let b: TestApp;
  const ADMIN = { 'X-Admin-Secret': 'test-webhook-secret' };
  const getSetting = (app: TestApp, name: string) => request(app.baseUrl).get(`/settings/${name}`).set(ADMIN).expect(200);
  const putSetting = (app: TestApp, name: string, enabled: boolean) =>
    request(app.baseUrl).put(`/settings/${name}`).set(ADMIN).send({ enabled }).expect(200);

  beforeAll(async () => {
    const env = { REDIS_URL: testRedisUrl(), CACHE_KEY_PREFIX: `fleet-${randomUUID().slice(0, 8)}` };
    a = await startTestApp({ env });
    b = await startTestApp({ env, databaseFile: a.databaseFile });
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  it('B, which has not read the setting yet, sees a PUT on A: A evicted the shared Redis entry too', async () => {
    await getSetting(a, 'cold_on_b').expect({ name: 'cold_on_b', enabled: false });
    await putSetting(a, 'cold_on_b', true);
    const onB = await getSetting(b, 'cold_on_b');
    expect(onB.body).toEqual({ name: 'cold_on_b', enabled: true });
    expect(onB.headers['x-cache']).toBe('MISS');
  });

  it('B answers a setting A cached from Redis, then from its own memory (the copy a write on A must drop)', async () => {
    await getSetting(a, 'warm_on_b');
    const statsOnB = b.app.get(CacheRegistry).byName('settings')!.stats;
    const before = { l1Hits: statsOnB.l1Hits, l2Hits: statsOnB.l2Hits, loads: statsOnB.loads };
    const first = await getSetting(b, 'warm_on_b');
    const second = await getSetting(b, 'warm_on_b');
    expect([first.headers['x-cache'], second.headers['x-cache']]).toEqual(['HIT', 'HIT']);
    expect({ l1Hits: statsOnB.l1Hits, l2Hits: statsOnB.l2Hits, loads: statsOnB.loads }).toEqual({
      l1Hits: before.l1Hits + 1,
      l2Hits: before.l2Hits + 1,
      loads: before.loads,
    });
  });

  it('PUT /settings/:name on A, then GET on B returns the new value, though B had cached the old one', async () => {
    await getSetting(b, 'debug').expect({ name: 'debug', enabled: false });
    expect((await getSetting(b, 'debug')).headers['x-cache']).toBe('HIT');
    await heardBy(a, b, () => putSetting(a, 'debug', true));
    await getSetting(b, 'debug').expect({ name: 'debug', enabled: true });
  });

  it('DELETE on A, then GET on B reads the setting as disabled at once', async () => {
    await putSetting(a, 'deleted_on_a', true);
    await getSetting(b, 'deleted_on_a').expect({ name: 'deleted_on_a', enabled: true });
    await heardBy(a, b, () =>
      request(a.baseUrl).delete('/settings/deleted_on_a').set(ADMIN).expect(200, { name: 'deleted_on_a', deleted: true }),
    );
    await getSetting(b, 'deleted_on_a').expect({ name: 'deleted_on_a', enabled: false });
  });

  it('GET /settings on B lists a row A has just written', async () => {
    await request(b.baseUrl).get('/settings').set(ADMIN).expect(200);
    await heardBy(a, b, () => putSetting(a, 'listed_after_write', true));
    const listed = await request(b.baseUrl).get('/settings').set(ADMIN).expect(200);
    expect(listed.body.settings).toContainEqual(expect.objectContaining({ name: 'listed_after_write', enabled: true }));
  });

  it("B's SettingsService (the message flow's isEnabled) sees A's write at once", async () => {
    const settingsOnB = b.app.get(SettingsService);
    expect(await settingsOnB.isEnabled('allow_audio_output')).toBe(false);
    await heardBy(a, b, () => putSetting(a, 'allow_audio_output', true));
    expect(await settingsOnB.isEnabled('allow_audio_output')).toBe(true);
  });

  it('set_setting on A, then get_setting on B returns the new value', async () => {
    await callTool(b.baseUrl, 'get_setting', { name: 'task_operator' }).expect(200, {
      ok: true,
      say: 'task_operator is disabled.',
      result: { name: 'task_operator', enabled: false },
    });
    await heardBy(a, b, () => callTool(a.baseUrl, 'set_setting', { name: 'task_operator', enabled: true }).expect(200));
    await callTool(b.baseUrl, 'get_setting', { name: 'task_operator' }).expect(200, {
      ok: true,
      say: 'task_operator is enabled.',
      result: { name: 'task_operator', enabled: true },
    });
  });

  it('create_task on A is in the next list_tasks on B', async () => {
    await callTool(b.baseUrl, 'list_tasks', { status: 'backlogged' }).expect(200);
    const createTask = () => callTool(a.baseUrl, 'create_task', { prompt: 'fleet task', status: 'backlogged' }).expect(200);
    const created = (await heardBy(a, b, createTask)).body.result;
    const listed = await callTool(b.baseUrl, 'list_tasks', { status: 'backlogged' }).expect(200);
    expect(listed.body.result.tasks).toContainEqual(created);
  });

  it('update_task_status on A is what get_task on B answers next', async () => {
    const created = (await callTool(a.baseUrl, 'create_task', { prompt: 'fleet status' }).expect(200)).body.result;
    const before = await callTool(b.baseUrl, 'get_task', { id: created.id }).expect(200);
    expect(before.body.result.status_label).toBe('ready');
    await heardBy(a, b, () => callTool(a.baseUrl, 'update_task_status', { id: created.id, status: 'complete' }).expect(200));
    const after = await callTool(b.baseUrl, 'get_task', { id: created.id }).expect(200);
    expect(after.body.result.status_label).toBe('complete');
  });
});
