import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { CacheRegistry } from '@app/cache';
import { INTERNAL_ERROR_SAY } from '@app/http';
import { SETTINGS_TTL_MS, SettingsService } from '../apps/api/src/settings';
import { pollUntil } from './support/poll';
import { execSharedDb, writeSharedDb } from './support/shared-db';
import { startTestApp, testRedisUrl, type TestApp } from './support/test-app';

const ADMIN = { 'X-Admin-Secret': 'test-webhook-secret' };
const TIMESTAMP = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
const BAD_NAME_BODY = {
  ok: false,
  say: 'Invalid request: name must be 1-64 lowercase letters, digits or underscores',
  result: {
    error: 'Bad Request',
    fields: [{ field: 'name', message: 'name must be 1-64 lowercase letters, digits or underscores' }],
  },
};
const BAD_ENABLED_BODY = {
  ok: false,
  say: 'Invalid request: enabled must be true or false',
  result: { error: 'Bad Request', fields: [{ field: 'enabled', message: 'enabled must be true or false' }] },
};

function startSettingsApp(): Promise<TestApp> {
  return startTestApp({ env: { REDIS_URL: testRedisUrl(), CACHE_KEY_PREFIX: `t-${randomUUID().slice(0, 8)}` } });
}

describe('settings over HTTP (admin secret, cached GETs)', () => {
  let app: TestApp;
  const get = (path: string) => request(app.baseUrl).get(path).set(ADMIN);
  const put = (name: string, body: unknown) => request(app.baseUrl).put(`/settings/${name}`).set(ADMIN).send(body as object);

  beforeAll(async () => {
    app = await startSettingsApp();
  });
  afterAll(() => app.close());

  it('GET /settings/:name answers enabled:false for a missing row, then serves it from the cache', async () => {
    const first = await get('/settings/never_written').expect(200);
    const second = await get('/settings/never_written').expect(200);
    expect(first.body).toEqual({ name: 'never_written', enabled: false });
    expect(first.headers['x-cache']).toBe('MISS');
    expect(second.headers['x-cache']).toBe('HIT');
    expect(second.body).toEqual(first.body);
  });

  it('PUT /settings/:name stores the value and the next GET shows it at once', async () => {
    await get('/settings/debug').expect(200, { name: 'debug', enabled: false });
    const written = await put('debug', { enabled: true }).expect(200);
    expect(written.body).toEqual({ name: 'debug', enabled: true, updated_at: expect.stringMatching(TIMESTAMP) });
    const after = await get('/settings/debug').expect(200);
    expect(after.body).toEqual({ name: 'debug', enabled: true });
    expect(after.headers['x-cache']).toBe('MISS');

    await put('debug', { enabled: false }).expect(200);
    await get('/settings/debug').expect(200, { name: 'debug', enabled: false });
  });

  it('GET /settings lists every row by name and is evicted by writes to any setting', async () => {
    await put('allow_audio_output', { enabled: true }).expect(200);
    await put('task_operator', { enabled: false }).expect(200);
    const listed = await get('/settings').expect(200);
    expect(listed.headers['x-cache']).toBe('MISS');
    const names = listed.body.settings.map((setting: { name: string }) => setting.name);
    expect(names).toEqual([...names].sort());
    expect(listed.body.settings).toEqual(
      expect.arrayContaining([
        { name: 'allow_audio_output', enabled: true, updated_at: expect.stringMatching(TIMESTAMP) },
        { name: 'task_operator', enabled: false, updated_at: expect.stringMatching(TIMESTAMP) },
      ]),
    );
    expect((await get('/settings').expect(200)).headers['x-cache']).toBe('HIT');

    await put('task_operator', { enabled: true }).expect(200);
    const after = await get('/settings').expect(200);
    expect(after.headers['x-cache']).toBe('MISS');
    expect(after.body.settings).toContainEqual({
      name: 'task_operator',
      enabled: true,
      updated_at: expect.stringMatching(TIMESTAMP),
    });
  });

  it('a write evicts only what shows that setting and the list', async () => {
    await get('/settings/untouched').expect(200);
    await put('other_setting', { enabled: true }).expect(200);
    expect((await get('/settings/untouched').expect(200)).headers['x-cache']).toBe('HIT');
  });

  it('DELETE /settings/:name removes the row; the setting then reads as disabled', async () => {
    await put('to_delete', { enabled: true }).expect(200);
    await get('/settings/to_delete').expect(200, { name: 'to_delete', enabled: true });
    await request(app.baseUrl).delete('/settings/to_delete').set(ADMIN).expect(200, { name: 'to_delete', deleted: true });
    await get('/settings/to_delete').expect(200, { name: 'to_delete', enabled: false });
    const listed = await get('/settings').expect(200);
    expect(listed.body.settings.map((setting: { name: string }) => setting.name)).not.toContain('to_delete');
    await request(app.baseUrl).delete('/settings/to_delete').set(ADMIN).expect(200, { name: 'to_delete', deleted: false });
  });

  it.each([
    ['GET', 'Debug'],
    ['GET', 'has-dash'],
    ['GET', 'a'.repeat(65)],
    ['PUT', 'has%20space'],
    ['DELETE', 'UPPER'],
  ])('%s with the invalid name %p → 400 naming the field', async (method, name) => {
    const call = request(app.baseUrl)[method.toLowerCase() as 'get' | 'put' | 'delete'](`/settings/${name}`).set(ADMIN);
    const response = await (method === 'PUT' ? call.send({ enabled: true }) : call).expect(400);
    expect(response.body).toEqual(BAD_NAME_BODY);
  });

  it.each([
    ['a string', { enabled: 'true' }],
    ['a number', { enabled: 1 }],
    ['null', { enabled: null }],
    ['no enabled field', {}],
  ])('PUT with %s for enabled → 400 and nothing is written', async (_label, body) => {
    const response = await put('bad_body', body).expect(400);
    expect(response.body).toEqual(BAD_ENABLED_BODY);
    await get('/settings/bad_body').expect(200, { name: 'bad_body', enabled: false });
  });

  it('PUT with a field it does not take → 400 naming it beside enabled, and nothing is written', async () => {
    const response = await put('bad_body', { value: true }).expect(400);
    expect(response.body.result.fields).toEqual([
      { field: 'value', message: 'value is not a field this route takes' },
      { field: 'enabled', message: 'enabled must be true or false' },
    ]);
    await get('/settings/bad_body').expect(200, { name: 'bad_body', enabled: false });
  });

  it('PUT naming ten fields it does not take, each at most 64 characters, and counting the rest: the answer stays small', async () => {
    const body: Record<string, unknown> = { enabled: true, [`long${'x'.repeat(10_000)}`]: 1 };
    for (let index = 0; index < 10_000; index += 1) body[`unknown_${index}`] = index;
    const response = await put('many_fields', body).expect(400);
    const fields = response.body.result.fields as { field: string; message: string }[];
    expect(fields).toHaveLength(10);
    expect(fields[0]).toEqual({ field: `long${'x'.repeat(60)}…`, message: `long${'x'.repeat(60)}… is not a field this route takes` });
    expect(fields[9].field).toBe('unknown_8');
    expect(response.body.say).toMatch(/; and 9991 more field\(s\) this route does not take$/);
    expect(Buffer.byteLength(response.text)).toBeLessThan(2_048);
    await get('/settings/many_fields').expect(200, { name: 'many_fields', enabled: false });
  });

  it('PUT without a body → 400 naming enabled', async () => {
    const response = await request(app.baseUrl).put('/settings/no_body').set(ADMIN).expect(400);
    expect(response.body).toEqual(BAD_ENABLED_BODY);
  });

  describe.each([
    ['GET', '/settings'],
    ['GET', '/settings/debug'],
    ['PUT', '/settings/debug'],
    ['DELETE', '/settings/debug'],
  ])('%s %s without the admin secret', (method, path) => {
    const send = () => request(app.baseUrl)[method.toLowerCase() as 'get' | 'put' | 'delete'](path);

    it('→ 401 JSON when the secret is missing', async () => {
      const response = await send().send({ enabled: true }).expect(401);
      expect(response.body).toEqual({
        ok: false,
        say: 'The admin secret is missing: send it in the X-Admin-Secret header.',
        result: { error: 'Unauthorized' },
      });
    });

    it('→ 401 JSON when the secret is wrong', async () => {
      const response = await send().set('X-Admin-Secret', 'wrong').send({ enabled: true }).expect(401);
      expect(response.body).toEqual({ ok: false, say: 'The admin secret is wrong.', result: { error: 'Unauthorized' } });
    });
  });

  it('a rejected request changes nothing', async () => {
    await put('guarded', { enabled: false }).expect(200);
    await request(app.baseUrl).put('/settings/guarded').set('X-Admin-Secret', 'wrong').send({ enabled: true }).expect(401);
    await get('/settings/guarded').expect(200, { name: 'guarded', enabled: false });
  });

  it('declares the settings routes and methods in the cache inventory', async () => {
    const inventory = await get('/admin/cache/inventory').expect(200);
    expect(inventory.body.namespaces).toContainEqual(
      expect.objectContaining({ namespace: 'settings', tiers: ['l1', 'l2'], ttlMs: SETTINGS_TTL_MS, l1TtlMs: SETTINGS_TTL_MS }),
    );
    const settingsRoutes = inventory.body.routes.filter((route: { path: string }) => route.path.startsWith('/settings'));
    expect(settingsRoutes).toEqual([
      { method: 'GET', path: '/settings', namespace: 'settings', ttlMs: 'namespace default', scope: 'principal', tags: ['settings:list'], key: 'settings:all' },
      { method: 'GET', path: '/settings/:name', namespace: 'settings', ttlMs: 'namespace default', scope: 'principal', tags: 'computed', key: 'computed' },
    ]);
    const methods = inventory.body.methods.filter((method: { provider: string }) => method.provider === 'SettingsService');
    expect(methods).toEqual([
      { provider: 'SettingsService', method: 'lookup', kind: 'cacheable', namespace: 'settings', tags: 'computed' },
      { provider: 'SettingsService', method: 'set', kind: 'evict', namespace: 'settings', tags: 'computed' },
      { provider: 'SettingsService', method: 'toggle', kind: 'evict', namespace: 'settings', tags: 'computed' },
      { provider: 'SettingsService', method: 'remove', kind: 'evict', namespace: 'settings', tags: 'computed' },
    ]);
  });

  it('sees a row another service wrote straight into the database within the TTL backstop', async () => {
    await put('written_elsewhere', { enabled: false }).expect(200);
    await get('/settings/written_elsewhere').expect(200, { name: 'written_elsewhere', enabled: false });
    writeSharedDb(app.databaseFile, "UPDATE system_settings SET value = 1 WHERE name = 'written_elsewhere'");
    const { value } = await pollUntil(
      async () => (await get('/settings/written_elsewhere').expect(200)).body,
      (body) => body.enabled === true,
      SETTINGS_TTL_MS + 3_000,
    );
    expect(value).toEqual({ name: 'written_elsewhere', enabled: true });
  });

  it('shows the timestamps of rows another service wrote in ISO 8601 in the documented format', async () => {
    writeSharedDb(
      app.databaseFile,
      "INSERT INTO system_settings (name, value, created_at, updated_at) VALUES ('iso_written', 1, ?, ?), ('zoned_written', 0, ?, ?)",
      '2025-01-31T12:00:00.000Z',
      '2025-01-31T12:00:00.000Z',
      '2025-01-31 14:30:00.123+02:00',
      '2025-01-31 14:30:00.123+02:00',
    );
    // A write through the app evicts the cached list.
    await put('iso_neighbour', { enabled: true }).expect(200);
    const listed = (await get('/settings').expect(200)).body.settings as { name: string; updated_at: string }[];
    expect(listed.filter(({ name }) => name.endsWith('_written'))).toEqual([
      { name: 'iso_written', enabled: true, updated_at: '2025-01-31 12:00:00' },
      { name: 'zoned_written', enabled: false, updated_at: '2025-01-31 12:30:00' },
    ]);
  });
});

describe('SettingsService (what the message flow calls)', () => {
  let app: TestApp;
  let settings: SettingsService;
  const loadsOfSettings = () => app.app.get(CacheRegistry).byName('settings')!.stats.loads;

  beforeAll(async () => {
    app = await startSettingsApp();
    settings = app.app.get(SettingsService);
  });
  afterAll(() => app.close());

  it('a missing row is disabled: get/isEnabled false, isDisabled true', async () => {
    expect(await settings.get('allow_audio_output')).toBe(false);
    expect(await settings.isEnabled('allow_audio_output')).toBe(false);
    expect(await settings.isDisabled('allow_audio_output')).toBe(true);
  });

  it('reads the stored 0/1 value', async () => {
    writeSharedDb(app.databaseFile, "INSERT INTO system_settings (name, value) VALUES ('stored_on', 1), ('stored_off', 0)");
    expect(await settings.isEnabled('stored_on')).toBe(true);
    expect(await settings.isEnabled('stored_off')).toBe(false);
    expect(await settings.isDisabled('stored_on')).toBe(false);
  });

  it('caches lookups: repeated reads of one name load it once', async () => {
    const before = loadsOfSettings();
    for (let index = 0; index < 5; index += 1) expect(await settings.isEnabled('debug')).toBe(false);
    expect(loadsOfSettings() - before).toBe(1);
  });

  it('enable, disable and set upsert the row with updated_at now, and the next read is fresh', async () => {
    expect(await settings.isEnabled('flow_flag')).toBe(false);
    const enabled = await settings.enable('flow_flag');
    expect(enabled).toEqual({ name: 'flow_flag', enabled: true, updated_at: expect.stringMatching(TIMESTAMP) });
    expect(Math.abs(Date.parse(`${enabled.updated_at}Z`) - Date.now())).toBeLessThan(60_000);
    expect(await settings.isEnabled('flow_flag')).toBe(true);
    expect((await settings.disable('flow_flag')).enabled).toBe(false);
    expect(await settings.isEnabled('flow_flag')).toBe(false);
    expect((await settings.set('flow_flag', true)).enabled).toBe(true);
    expect(await settings.isEnabled('flow_flag')).toBe(true);
  });

  it('toggle flips the stored value; a missing row becomes enabled', async () => {
    expect(await settings.isEnabled('toggled')).toBe(false);
    expect((await settings.toggle('toggled')).enabled).toBe(true);
    expect(await settings.isEnabled('toggled')).toBe(true);
    expect((await settings.toggle('toggled')).enabled).toBe(false);
    expect(await settings.isEnabled('toggled')).toBe(false);
  });

  it('a write through the HTTP API is seen by the next service read', async () => {
    expect(await settings.isEnabled('via_http')).toBe(false);
    await request(app.baseUrl).put('/settings/via_http').set(ADMIN).send({ enabled: true }).expect(200);
    expect(await settings.isEnabled('via_http')).toBe(true);
  });
});

describe('settings with the database failing', () => {
  let app: TestApp;
  let settings: SettingsService;

  beforeAll(async () => {
    app = await startSettingsApp();
    settings = app.app.get(SettingsService);
    execSharedDb(app.databaseFile, 'DROP TABLE system_settings');
  });
  afterAll(() => app.close());

  it('get/isEnabled answer false and isDisabled true, logging a warning instead of throwing', async () => {
    expect(await settings.get('debug')).toBe(false);
    expect(await settings.isEnabled('debug')).toBe(false);
    expect(await settings.isDisabled('debug')).toBe(true);
    expect(
      app.logs.lines.some((line) => line.level === 40 && String(line.msg).startsWith('Could not read setting debug, treating it as disabled')),
    ).toBe(true);
  });

  it('the HTTP API answers 500 in its JSON error shape, never a stack trace', async () => {
    const response = await request(app.baseUrl).get('/settings/debug').set(ADMIN).expect(500);
    expect(response.body).toEqual({
      ok: false,
      say: INTERNAL_ERROR_SAY,
      result: { error: 'Internal Server Error', request_id: expect.any(String) },
    });
    expect(response.headers['x-cache']).toBe('BYPASS');
  });

  it('does not remember the failure: once the table is back, the stored value is read at once', async () => {
    expect(await settings.isEnabled('recovered')).toBe(false);
    execSharedDb(
      app.databaseFile,
      `CREATE TABLE system_settings ("name" TEXT NOT NULL PRIMARY KEY, "value" INTEGER NOT NULL DEFAULT 0,
         "created_at" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, "updated_at" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);
       INSERT INTO system_settings (name, value) VALUES ('recovered', 1);`,
    );
    expect(await settings.isEnabled('recovered')).toBe(true);
  });
});
