import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import Redis from 'ioredis';
import request from 'supertest';
import { PrismaService, WRITE_LOCK_WAIT_MS } from '@app/prisma';
import { TelegramBots, TelegramFiles } from '../apps/api/src/telegram';
import { FakeTelegram } from './support/fakes/telegram-server';
import { pollUntil } from './support/poll';
import { storedEntry } from './support/redis-keys';
import { writeSharedDb } from './support/shared-db';
import { startTestApp, testRedisUrl, type TestApp } from './support/test-app';

const ENV_TOKEN = '100001:env-bot-token_secretpart';
const SUPPORT_TOKEN = '200002:support-bot-token_secretpart';
const NEW_SUPPORT_TOKEN = '200003:support-bot-rotated_secretpart';
const OPS_TOKEN = '300003:ops-bot-token_secretpart';
const CHAT = 555;

function startBotsApp(fake: FakeTelegram, extra: Record<string, string> = {}, databaseFile?: string): Promise<TestApp> {
  return startTestApp({
    databaseFile,
    env: {
      REDIS_URL: testRedisUrl(),
      CACHE_KEY_PREFIX: `t-${randomUUID().slice(0, 8)}`,
      LOG_LEVEL: 'debug',
      TELEGRAM_BOT_TOKEN: ENV_TOKEN,
      TELEGRAM_API_BASE_URL: fake.url,
      ...extra,
    },
  });
}

describe('TelegramBots: which bot an update is for, and its client', () => {
  let fake: FakeTelegram;
  let app: TestApp;
  let bots: TelegramBots;
  let supportId: number;

  beforeAll(async () => {
    fake = await FakeTelegram.start(ENV_TOKEN, SUPPORT_TOKEN, NEW_SUPPORT_TOKEN, OPS_TOKEN);
    app = await startBotsApp(fake);
    bots = app.app.get(TelegramBots);
    supportId = (await bots.create({ name: 'support', token: SUPPORT_TOKEN, webhookSecret: 'support-secret', botType: 'support' })).id;
    await bots.create({ name: 'retired', token: '400004:retired-token', webhookSecret: 'retired-secret', active: false });
  });
  beforeEach(() => fake.reset());
  afterAll(async () => {
    await app.close();
    await fake.stop();
  });

  it('resolves TELEGRAM_WEBHOOK_SECRET to the env bot, which sends with TELEGRAM_BOT_TOKEN', async () => {
    const bot = await bots.resolveWebhookSecret('test-telegram-secret');
    expect(bot).toMatchObject({ id: null, name: 'default' });
    expect(bot).toBe(bots.defaultBot());
    await bot!.client.sendMessage(CHAT, 'from env');
    expect(fake.messages(CHAT).map((message) => message.token)).toEqual([ENV_TOKEN]);
  });

  it('resolves an active telegram_bots row by its webhook_secret and sends with its token', async () => {
    const bot = await bots.resolveWebhookSecret('support-secret');
    expect(bot).toMatchObject({ id: supportId, name: 'support' });
    await bot!.client.sendMessage(CHAT, 'from support');
    expect(fake.messages(CHAT).map((message) => message.token)).toEqual([SUPPORT_TOKEN]);
  });

  it('refuses an inactive row’s secret, a wrong secret and no secret', async () => {
    expect(await bots.resolveWebhookSecret('retired-secret')).toBeNull();
    expect(await bots.resolveWebhookSecret('test-telegram-secre')).toBeNull();
    expect(await bots.resolveWebhookSecret('')).toBeNull();
    expect(await bots.resolveWebhookSecret(undefined)).toBeNull();
  });

  it('finds a bot by id for replies (null is the env bot; unknown and inactive ids are null)', async () => {
    expect(await bots.findById(null)).toBe(bots.defaultBot());
    expect(await bots.findById(supportId)).toMatchObject({ id: supportId, name: 'support' });
    expect(await bots.findById(999_999)).toBeNull();
    const retired = (await bots.list()).find((bot) => bot.name === 'retired')!;
    expect(retired).toEqual({
      id: expect.any(Number),
      name: 'retired',
      bot_type: 'telegram',
      active: false,
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    expect(await bots.findById(retired.id)).toBeNull();
  });

  it('gives every lookup of one token the same client, and different tokens different clients', async () => {
    const bySecret = await bots.resolveWebhookSecret('support-secret');
    const byId = await bots.findById(supportId);
    expect(byId!.client).toBe(bySecret!.client);
    expect(bySecret!.client).not.toBe(bots.defaultBot().client);
    expect(bySecret!.client.tokenDigest).toMatch(/^[0-9a-f]{16}$/);
  });

  it('caches the lookup: a row changed straight in the shared database is not seen until a write through the app', async () => {
    const ops = await bots.create({ name: 'ops', token: OPS_TOKEN, webhookSecret: 'ops-secret' });
    expect(await bots.resolveWebhookSecret('ops-secret')).toMatchObject({ id: ops.id });
    writeSharedDb(app.databaseFile, 'UPDATE telegram_bots SET active = 0 WHERE id = ?', ops.id);
    expect(await bots.resolveWebhookSecret('ops-secret')).toMatchObject({ id: ops.id });

    await bots.update(ops.id, { active: false });
    expect(await bots.resolveWebhookSecret('ops-secret')).toBeNull();
    expect(await bots.findById(ops.id)).toBeNull();
  });

  it('reads the table once per lookup lifetime, however many webhooks come: a wrong secret and the env bot\'s included', async () => {
    await bots.update(supportId, { name: 'support' });
    const findMany = jest.spyOn(app.app.get(PrismaService).telegramBot, 'findMany');
    try {
      const webhook = (secret: string) =>
        request(app.baseUrl)
          .post('/telegram/webhook')
          .set('X-Telegram-Bot-Api-Secret-Token', secret)
          .send({ update_id: 424_242 });
      for (let round = 0; round < 10; round += 1) {
        await webhook(`wrong-${round}`).expect(401);
        await webhook('test-telegram-secret').expect(200);
        await webhook('support-secret').expect(200);
      }
      expect(findMany).toHaveBeenCalledTimes(1);
    } finally {
      findMany.mockRestore();
    }
  });

  it("finds a bot to reply as when another row cannot be read (a token another service wrote as a BLOB)", async () => {
    writeSharedDb(
      app.databaseFile,
      "INSERT INTO telegram_bots (name, bot_token, webhook_secret, bot_type, active, created_at, updated_at) VALUES ('blob', X'00ff', 'blob-secret', 'telegram', 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
    );
    try {
      // A write through the app clears the cached rows, so the next lookup reads the table with the bad row in it.
      await bots.update(supportId, { name: 'support' });
      expect(await bots.findById(supportId)).toMatchObject({ id: supportId, name: 'support' });
    } finally {
      writeSharedDb(app.databaseFile, "DELETE FROM telegram_bots WHERE name = 'blob'");
      await bots.update(supportId, { name: 'support' });
    }
  });

  it('sees a changed webhook secret at once when it is changed through the app', async () => {
    const before = await bots.resolveWebhookSecret('support-secret');
    expect(before).not.toBeNull();
    await bots.update(supportId, { webhookSecret: 'support-secret-2' });
    expect(await bots.resolveWebhookSecret('support-secret')).toBeNull();
    expect(await bots.resolveWebhookSecret('support-secret-2')).toMatchObject({ id: supportId });
    await bots.update(supportId, { webhookSecret: 'support-secret' });
  });

  it('drops the old client when a bot’s token changes, and sends with the new token', async () => {
    const old = (await bots.findById(supportId))!.client;
    await bots.update(supportId, { token: NEW_SUPPORT_TOKEN });
    const rotated = (await bots.resolveWebhookSecret('support-secret'))!;
    expect(rotated.client).not.toBe(old);
    expect((await bots.findById(supportId))!.client).toBe(rotated.client);
    await rotated.client.sendMessage(CHAT, 'after rotation');
    expect(fake.messages(CHAT).map((message) => message.token)).toEqual([NEW_SUPPORT_TOKEN]);

    await bots.update(supportId, { token: SUPPORT_TOKEN });
    const back = (await bots.findById(supportId))!.client;
    expect(back).not.toBe(rotated.client);
    expect(back).not.toBe(old);
  });

  it('caches getFile per bot and file, downloading the bytes every time', async () => {
    const bytes = Buffer.from('OggS fake voice');
    fake.addFile(ENV_TOKEN, { fileId: 'AwACAgIAAxkBAAIBZ2d0voiceFileId', filePath: 'voice/file_7.oga', bytes });
    fake.addFile(SUPPORT_TOKEN, { fileId: 'AwACAgIAAxkBAAIBZ2d0voiceFileId', filePath: 'voice/file_8.oga', bytes });
    const files = app.app.get(TelegramFiles);
    const env = bots.defaultBot();
    const support = (await bots.findById(supportId))!;
    const first = await files.download(env, 'AwACAgIAAxkBAAIBZ2d0voiceFileId');
    const second = await files.download(env, 'AwACAgIAAxkBAAIBZ2d0voiceFileId');
    const other = await files.download(support, 'AwACAgIAAxkBAAIBZ2d0voiceFileId');
    expect(first).toEqual({ bytes, filePath: 'voice/file_7.oga', fileName: 'file_7.oga' });
    expect(second).toEqual(first);
    expect(other?.filePath).toBe('voice/file_8.oga');
    expect(fake.calls('getFile').map((call) => call.token)).toEqual([ENV_TOKEN, SUPPORT_TOKEN]);
    expect(fake.downloads()).toEqual([
      { token: ENV_TOKEN, filePath: 'voice/file_7.oga' },
      { token: ENV_TOKEN, filePath: 'voice/file_7.oga' },
      { token: SUPPORT_TOKEN, filePath: 'voice/file_8.oga' },
    ]);
  });

  it('keeps tokens and webhook secrets out of Redis and out of every log line', async () => {
    await bots.resolveWebhookSecret('support-secret');
    const redis = new Redis(testRedisUrl());
    try {
      const keys = await redis.keys(`${app.config.cache.keyPrefix}:*`);
      const entries = keys.filter((key) => !key.includes('#tag:'));
      const values = (await Promise.all(entries.map((key) => redis.get(key)))).map(storedEntry);
      expect(values.every((entry) => entry !== undefined)).toBe(true);
      const stored = [...keys, ...values.map((entry) => JSON.stringify(entry?.value))].join('\n');
      for (const secret of ['secretpart', 'support-secret', 'test-telegram-secret']) expect(stored).not.toContain(secret);
    } finally {
      await redis.quit();
    }
    const logs = app.logs.raw.join('\n');
    expect(logs).toContain('telegram sendMessage');
    for (const secret of ['secretpart', 'support-secret', 'ops-secret']) expect(logs).not.toContain(secret);
  });
});

describe('TelegramBots across two instances', () => {
  let fake: FakeTelegram;
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    fake = await FakeTelegram.start(ENV_TOKEN, SUPPORT_TOKEN);
    a = await startBotsApp(fake);
    b = await startBotsApp(fake, { CACHE_KEY_PREFIX: a.config.cache.keyPrefix }, a.databaseFile);
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await fake.stop();
  });

  it('a bot deactivated on one instance is refused by the other at once (the lookup cache is cleared everywhere)', async () => {
    const created = await a.app.get(TelegramBots).create({ name: 'shared', token: SUPPORT_TOKEN, webhookSecret: 'shared-secret' });
    const onB = b.app.get(TelegramBots);
    expect(await onB.resolveWebhookSecret('shared-secret')).toMatchObject({ id: created.id });
    await a.app.get(TelegramBots).update(created.id, { active: false });
    // The invalidation event crosses Redis pub/sub, so B drops its entry a moment after A's write returns.
    const { value } = await pollUntil(() => onB.resolveWebhookSecret('shared-secret'), (bot) => bot === null, 5_000, 20);
    expect(value).toBeNull();
  });

  it("says at boot, naming the row, when the env bot's secret or token was changed to a row's (the routes refuse that)", async () => {
    const row = await a.app.get(TelegramBots).create({ name: 'taken-later', token: '800008:taken-later_secretpart', webhookSecret: 'taken-later-secretpart' });
    const c = await startBotsApp(
      fake,
      { CACHE_KEY_PREFIX: a.config.cache.keyPrefix, TELEGRAM_WEBHOOK_SECRET: 'taken-later-secretpart', TELEGRAM_BOT_TOKEN: '800008:taken-later_secretpart' },
      a.databaseFile,
    );
    try {
      const errors = c.logs.lines.filter((line) => line.level === 50).map((line) => String(line.msg));
      expect(errors).toEqual([
        expect.stringMatching(new RegExp(`^telegram_bots row ${row.id} \\(taken-later\\) has the env bot's webhook secret \\(TELEGRAM_WEBHOOK_SECRET\\)`)),
        expect.stringMatching(new RegExp(`^telegram_bots row ${row.id} \\(taken-later\\) has the env bot's token \\(TELEGRAM_BOT_TOKEN\\)`)),
      ]);
      expect(c.logs.raw.join('\n')).not.toContain('secretpart');
    } finally {
      await c.close();
    }
    expect(a.logs.lines.filter((line) => line.level === 50)).toEqual([]);
  });
});

describe('/telegram/bots admin routes', () => {
  let fake: FakeTelegram;
  let app: TestApp;
  const ADMIN = { 'X-Admin-Secret': 'test-webhook-secret' };
  const createBot = async (body: Record<string, unknown>) =>
    (await request(app.baseUrl).post('/telegram/bots').set(ADMIN).send(body).expect(201)).body as { id: number } & Record<string, unknown>;

  beforeAll(async () => {
    fake = await FakeTelegram.start(ENV_TOKEN, SUPPORT_TOKEN, NEW_SUPPORT_TOKEN);
    app = await startBotsApp(fake);
  });
  afterAll(async () => {
    await app.close();
    await fake.stop();
  });

  it('creates, lists and changes bots without ever showing a token or secret, each write seen at once', async () => {
    const bots = app.app.get(TelegramBots);
    const created = await request(app.baseUrl)
      .post('/telegram/bots')
      .set(ADMIN)
      .send({ name: 'helpdesk', bot_token: SUPPORT_TOKEN, webhook_secret: 'helpdesk-secret', bot_type: 'support' })
      .expect(201);
    const view = {
      id: expect.any(Number),
      name: 'helpdesk',
      bot_type: 'support',
      active: true,
      created_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/),
      updated_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/),
    };
    expect(created.body).toEqual(view);
    const id = created.body.id as number;
    await request(app.baseUrl).get('/telegram/bots').set(ADMIN).expect(200, { bots: [created.body] });

    const before = (await bots.resolveWebhookSecret('helpdesk-secret'))!;
    await before.client.sendMessage(CHAT, 'one');
    const rotated = await request(app.baseUrl).patch(`/telegram/bots/${id}`).set(ADMIN).send({ bot_token: NEW_SUPPORT_TOKEN }).expect(200);
    expect(rotated.body).toEqual({ ...view, id });
    await (await bots.resolveWebhookSecret('helpdesk-secret'))!.client.sendMessage(CHAT, 'two');
    expect(fake.messages(CHAT).map((message) => message.token)).toEqual([SUPPORT_TOKEN, NEW_SUPPORT_TOKEN]);

    await request(app.baseUrl).patch(`/telegram/bots/${id}`).set(ADMIN).send({ active: false }).expect(200);
    expect(await bots.resolveWebhookSecret('helpdesk-secret')).toBeNull();
    expect(app.logs.raw.join('\n')).not.toContain('secretpart');
  });

  it('answers 409 for a duplicate, 404 for an unknown id, 400 naming bad fields, 401 without the admin secret', async () => {
    const body = { name: 'dup', bot_token: '500005:dup-bot-token_secretpart', webhook_secret: 'dup-secret' };
    await request(app.baseUrl).post('/telegram/bots').set(ADMIN).send(body).expect(201);
    await request(app.baseUrl)
      .post('/telegram/bots')
      .set(ADMIN)
      .send({ ...body, name: 'dup2' })
      .expect(409, {
        ok: false,
        say: 'A Telegram bot with this name, token or webhook secret already exists.',
        result: { error: 'Conflict' },
      });
    await request(app.baseUrl)
      .patch('/telegram/bots/999999')
      .set(ADMIN)
      .send({ active: true })
      .expect(404, { ok: false, say: 'No Telegram bot has id 999999.', result: { error: 'Not Found' } });
    const bad = await request(app.baseUrl)
      .post('/telegram/bots')
      .set(ADMIN)
      .send({ name: 'x', bot_token: 'not-a-token', webhook_secret: 'has space', active: 'yes' })
      .expect(400);
    expect(bad.body.result.fields.map((field: { field: string }) => field.field)).toEqual(['bot_token', 'webhook_secret', 'active']);
    expect(JSON.stringify(bad.body)).not.toContain('not-a-token');
    for (const name of ['nul\u0000name', 'esc\u001b[31mred', 'line\nbreak', 'evil\u202egpj.exe', 'isolate\u2067x', '\u0085next']) {
      const refused = await request(app.baseUrl)
        .post('/telegram/bots')
        .set(ADMIN)
        .send({ ...body, name, bot_token: '500006:ctl-bot-token_secretpart', webhook_secret: 'ctl-secret' })
        .expect(400);
      expect([name, refused.body.result.fields]).toEqual([
        name,
        [{ field: 'name', message: 'name must be 1-64 characters without leading or trailing spaces, control characters or text-direction controls' }],
      ]);
    }
    await request(app.baseUrl).get('/telegram/bots').expect(401);
    await request(app.baseUrl).post('/telegram/bots').send(body).expect(401);
  });
  it('answers 400 naming a field the route does not take, changing nothing; the admin secret may come in the body', async () => {
    const { id } = await createBot({ name: 'typo', bot_token: '800008:typo-token_secretpart', webhook_secret: 'typo-secret' });
    const refused = await request(app.baseUrl).patch(`/telegram/bots/${id}`).set(ADMIN).send({ isActive: false }).expect(400);
    expect(refused.body).toEqual({
      ok: false,
      say: 'Invalid request: isActive is not a field this route takes',
      result: { error: 'Bad Request', fields: [{ field: 'isActive', message: 'isActive is not a field this route takes' }] },
    });
    await request(app.baseUrl)
      .post('/telegram/bots')
      .set(ADMIN)
      .send({ name: 'typo2', bot_token: '800009:typo-token_secretpart', webhook_secret: 'typo2-secret', is_active: false })
      .expect(400);
    const listed = (await request(app.baseUrl).get('/telegram/bots').set(ADMIN).expect(200)).body.bots as { name: string; active: boolean }[];
    expect(listed.find((bot) => bot.name === 'typo')?.active).toBe(true);
    expect(listed.map((bot) => bot.name)).not.toContain('typo2');

    await request(app.baseUrl).patch(`/telegram/bots/${id}`).send({ active: false, admin_secret: 'test-webhook-secret' }).expect(200);
    expect(await app.app.get(TelegramBots).resolveWebhookSecret('typo-secret')).toBeNull();
  });

  it("answers 409 naming the field for the env bot's token or webhook secret, in a new bot or a change, and changes nothing", async () => {
    const bots = app.app.get(TelegramBots);
    const envSecret = 'test-telegram-secret';
    const conflict = (field: string, variable: string) => ({
      ok: false,
      say: `The env bot already uses this ${field} (${variable}); a bot here needs its own.`,
      result: { error: 'Conflict', field },
    });
    await request(app.baseUrl)
      .post('/telegram/bots')
      .set(ADMIN)
      .send({ name: 'thief', bot_token: '600006:thief-token_secretpart', webhook_secret: envSecret })
      .expect(409, conflict('webhook_secret', 'TELEGRAM_WEBHOOK_SECRET'));
    await request(app.baseUrl)
      .post('/telegram/bots')
      .set(ADMIN)
      .send({ name: 'twin', bot_token: ENV_TOKEN, webhook_secret: 'twin-secret' })
      .expect(409, conflict('bot_token', 'TELEGRAM_BOT_TOKEN'));
    const { id } = await createBot({ name: 'honest', bot_token: '700007:honest-token_secretpart', webhook_secret: 'honest-secret' });
    await request(app.baseUrl).patch(`/telegram/bots/${id}`).set(ADMIN).send({ webhook_secret: envSecret }).expect(409, conflict('webhook_secret', 'TELEGRAM_WEBHOOK_SECRET'));
    await request(app.baseUrl).patch(`/telegram/bots/${id}`).set(ADMIN).send({ bot_token: ENV_TOKEN }).expect(409, conflict('bot_token', 'TELEGRAM_BOT_TOKEN'));

    const names = (await request(app.baseUrl).get('/telegram/bots').set(ADMIN).expect(200)).body.bots.map((bot: { name: string }) => bot.name);
    expect(names).not.toContain('thief');
    expect(names).not.toContain('twin');
    expect((await bots.resolveWebhookSecret(envSecret))?.id).toBeNull();
    expect((await bots.resolveWebhookSecret('honest-secret'))?.id).toBe(id);
    expect(app.logs.raw.join('\n')).not.toContain('secretpart');
  });

  it('answers 400 naming a field sent as null, changes nothing, and logs no token or secret sent beside it', async () => {
    const created = await createBot({ name: 'nullable', bot_token: '4242:nullablesecretpart', webhook_secret: 'nullable-secret' });
    const id = created.id;
    for (const field of ['name', 'bot_token', 'webhook_secret', 'bot_type', 'active']) {
      const refused = await request(app.baseUrl)
        .patch(`/telegram/bots/${id}`)
        .set(ADMIN)
        .send({ [field]: null, bot_token: field === 'bot_token' ? null : '4242:leakedtokenpart', webhook_secret: field === 'webhook_secret' ? null : 'leaked-secret-part' })
        .expect(400);
      expect(refused.body.result.fields.map((named: { field: string }) => named.field)).toContain(field);
    }
    await request(app.baseUrl)
      .post('/telegram/bots')
      .set(ADMIN)
      .send({ name: 'nulls', bot_token: '4343:anothersecretpart', webhook_secret: 'nulls-secret', bot_type: null, active: null })
      .expect(400);

    const [listed] = (await request(app.baseUrl).get('/telegram/bots').set(ADMIN).expect(200)).body.bots.filter((bot: { id: number }) => bot.id === id);
    expect(listed).toEqual(created);
    expect(app.logs.raw.join('\n')).not.toMatch(/leakedtokenpart|leaked-secret-part|anothersecretpart/);
  });

  /** Another process (cursor-runner) holding the shared file's write lock for `ms`. */
  function holdWriteLock(ms: number): Promise<void> {
    const db = new Database(app.databaseFile);
    db.exec('BEGIN IMMEDIATE');
    return new Promise((resolve) =>
      setTimeout(() => {
        db.exec('COMMIT');
        db.close();
        resolve();
      }, ms),
    );
  }

  it("waits out another process's short write lock without holding the process, and answers 503 with Retry-After past WRITE_LOCK_WAIT_MS", async () => {
    const { id } = await createBot({ name: 'locked', bot_token: '900009:locked-token_secretpart', webhook_secret: 'locked-secret' });
    const live = async () => {
      const started = Date.now();
      await request(app.baseUrl).get('/health/live').expect(200);
      return Date.now() - started;
    };

    for (const write of [
      () => request(app.baseUrl).patch(`/telegram/bots/${id}`).set(ADMIN).send({ name: 'locked-renamed' }),
      () => request(app.baseUrl).put('/settings/locked_switch').set(ADMIN).send({ enabled: true }),
    ]) {
      const lock = holdWriteLock(1_500);
      const started = Date.now();
      const written = write();
      await new Promise((resolve) => setTimeout(resolve, 300));
      // The process keeps answering while the write waits: no synchronous busy wait holds it.
      expect(await live()).toBeLessThan(250);
      expect((await written).status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
      await lock;
    }

    const lock = holdWriteLock(WRITE_LOCK_WAIT_MS + 2_000);
    const started = Date.now();
    const refused = await request(app.baseUrl).patch(`/telegram/bots/${id}`).set(ADMIN).send({ name: 'locked-again' }).expect(503);
    expect(Date.now() - started).toBeGreaterThanOrEqual(WRITE_LOCK_WAIT_MS - 250);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.body).toEqual({
      ok: false,
      say: 'The database is busy: another process holds its write lock. Nothing was changed; try again.',
      result: { error: 'Service Unavailable' },
    });
    await lock;
    const [listed] = (await request(app.baseUrl).get('/telegram/bots').set(ADMIN).expect(200)).body.bots.filter((bot: { id: number }) => bot.id === id);
    expect(listed.name).toBe('locked-renamed');
    expect(app.logs.lines.filter((line) => String(line.msg).startsWith('The database is busy'))).toHaveLength(1);
    expect(app.logs.raw.join('\n')).not.toContain('locked-token_secretpart');
  }, 30_000);

  it("keeps the process answering while many writes wait for another process's write lock, each answered within its own wait", async () => {
    const livenessWhile = async <T>(work: Promise<T>): Promise<{ result: T; slowestLiveMs: number }> => {
      let done = false;
      let slowestLiveMs = 0;
      const probing = (async () => {
        while (!done) {
          const started = Date.now();
          await request(app.baseUrl).get('/health/live').expect(200);
          slowestLiveMs = Math.max(slowestLiveMs, Date.now() - started);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })();
      const result = await work;
      done = true;
      await probing;
      return { result, slowestLiveMs };
    };
    const writes = (round: string) =>
      Promise.all(
        Array.from({ length: 20 }, async (_, index) => {
          const started = Date.now();
          const response = await request(app.baseUrl).put(`/settings/crowd_${round}_${index}`).set(ADMIN).send({ enabled: true });
          return { status: response.status, ms: Date.now() - started };
        }),
      );

    const shortLock = holdWriteLock(1_500);
    // The probe runs in Jest's own process, beside the app: a collection of that large heap alone took 324 ms once
    // in CI. Writes that each blocked the process while they waited put it at 900-1 750 ms; 600 ms tells the two apart.
    const LIVE_WITHIN_MS = 600;
    const waited = await livenessWhile(writes('a'));
    await shortLock;
    expect(waited.result.map(({ status }) => status)).toEqual(Array(20).fill(200));
    expect(waited.slowestLiveMs).toBeLessThan(LIVE_WITHIN_MS);

    const longLock = holdWriteLock(WRITE_LOCK_WAIT_MS + 2_000);
    const refused = await livenessWhile(writes('b'));
    await longLock;
    expect(refused.result.map(({ status }) => status)).toEqual(Array(20).fill(503));
    for (const { ms } of refused.result) {
      expect(ms).toBeGreaterThanOrEqual(WRITE_LOCK_WAIT_MS - 250);
      expect(ms).toBeLessThan(WRITE_LOCK_WAIT_MS + 600);
    }
    expect(refused.slowestLiveMs).toBeLessThan(LIVE_WITHIN_MS);
    const settings = (await request(app.baseUrl).get('/settings').set(ADMIN).expect(200)).body.settings as { name: string }[];
    expect(settings.filter(({ name }) => name.startsWith('crowd_a_'))).toHaveLength(20);
    expect(settings.filter(({ name }) => name.startsWith('crowd_b_'))).toHaveLength(0);
  }, 30_000);
});
