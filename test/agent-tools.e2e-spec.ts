import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { DiscoveryService } from '@nestjs/core';
import request from 'supertest';
import { CacheRegistry } from '@app/cache';
import { TASK_STATUSES } from '../apps/api/src/tasks';
import { ToolRegistry } from '../apps/api/src/tools';
import { callTool } from './support/agent-tools-client';
import { pollUntil } from './support/poll';
import { execSharedDb, writeSharedDb } from './support/shared-db';
import { startTestApp, testRedisUrl, type TestApp } from './support/test-app';
import { ToolFixturesModule } from './support/tool-fixtures';

const SECRET = 'test-webhook-secret';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
const MISSING_TOOL = {
  ok: false,
  say: 'Missing required parameter: tool',
  result: { error: 'tool parameter is required' },
};
const TASKS_TTL_MS = 5_000;

function startToolsApp(): Promise<TestApp> {
  return startTestApp({
    env: { REDIS_URL: testRedisUrl(), CACHE_KEY_PREFIX: `t-${randomUUID().slice(0, 8)}` },
    extraModules: [ToolFixturesModule],
  });
}

function invalidArguments(tool: string, ...fields: [string, string][]) {
  return {
    ok: false,
    say: `Invalid arguments for ${tool}: ${fields.map(([, message]) => message).join('; ')}`,
    result: { error: 'Invalid arguments', fields: fields.map(([field, message]) => ({ field, message })) },
  };
}

describe('POST /agent-tools', () => {
  let app: TestApp;
  const tool = (name: string, args?: Record<string, unknown>) => callTool(app.baseUrl, name, args);

  beforeAll(async () => {
    app = await startToolsApp();
  });
  afterAll(() => app.close());

  describe('authentication', () => {
    const body = { tool: 'get_setting', args: { name: 'debug' } };
    const ok = { ok: true, say: 'debug is disabled.', result: { name: 'debug', enabled: false } };

    it('accepts the secret in X-EL-Secret', async () => {
      await request(app.baseUrl).post('/agent-tools').set('X-EL-Secret', SECRET).send(body).expect(200, ok);
    });

    it('accepts the secret as Authorization: Bearer', async () => {
      await request(app.baseUrl).post('/agent-tools').set('Authorization', `Bearer ${SECRET}`).send(body).expect(200, ok);
    });

    it.each([
      ['no credentials', {}, 'missing'],
      ['an empty X-EL-Secret', { 'X-EL-Secret': '' }, 'missing'],
      ['a non-Bearer Authorization', { Authorization: `Basic ${SECRET}` }, 'missing'],
      ['an empty Bearer token', { Authorization: 'Bearer ' }, 'missing'],
      ['a wrong X-EL-Secret', { 'X-EL-Secret': 'wrong' }, 'wrong'],
      ['a wrong Bearer token', { Authorization: 'Bearer wrong' }, 'wrong'],
      ['a wrong X-EL-Secret beside a right Bearer token (X-EL-Secret comes first)', { 'X-EL-Secret': 'wrong', Authorization: `Bearer ${SECRET}` }, 'wrong'],
      ['the secret with different case', { 'X-EL-Secret': SECRET.toUpperCase() }, 'wrong'],
    ])('refuses %s with 401 JSON', async (_label, headers, kind) => {
      const response = await request(app.baseUrl).post('/agent-tools').set(headers).send(body).expect(401);
      expect(response.body).toEqual({
        ok: false,
        say:
          kind === 'missing'
            ? 'The tool secret is missing: send it in the X-EL-Secret header or as Authorization: Bearer.'
            : 'The tool secret is wrong.',
        result: { error: 'Unauthorized' },
      });
      expect(app.logs.lines.some((line) => line.level === 40 && line.msg === 'Unauthorized tool request - invalid secret')).toBe(true);
      expect(app.logs.raw.join('\n')).not.toContain(SECRET.toUpperCase());
    });

    it('runs nothing for a refused call', async () => {
      await request(app.baseUrl)
        .post('/agent-tools')
        .set('X-EL-Secret', 'wrong')
        .send({ tool: 'set_setting', args: { name: 'refused_write', enabled: true } })
        .expect(401);
      await tool('get_setting', { name: 'refused_write' }).expect(200, {
        ok: true,
        say: 'refused_write is disabled.',
        result: { name: 'refused_write', enabled: false },
      });
    });
  });

  describe('the request body', () => {
    it.each([
      ['an empty object', {}],
      ['a blank tool', { tool: '' }],
      ['a whitespace tool', { tool: '   ' }],
      ['a null tool', { tool: null }],
      ['only args', { args: { name: 'debug' } }],
    ])('without a tool (%s) → 400 with the missing-tool body', async (_label, body) => {
      await request(app.baseUrl).post('/agent-tools').set('X-EL-Secret', SECRET).send(body).expect(400, MISSING_TOOL);
    });

    it('with no body at all → 400 with the missing-tool body', async () => {
      await request(app.baseUrl).post('/agent-tools').set('X-EL-Secret', SECRET).expect(400, MISSING_TOOL);
    });

    it('with a JSON array → 400 with the missing-tool body', async () => {
      await request(app.baseUrl).post('/agent-tools').set('X-EL-Secret', SECRET).send([{ tool: 'get_setting' }]).expect(400, MISSING_TOOL);
    });

    it.each([
      ['tool', { tool: 42 }, 'tool must be a string'],
      ['args', { tool: 'get_setting', args: ['debug'] }, 'args must be an object'],
      ['args', { tool: 'get_setting', args: 'debug' }, 'args must be an object'],
      ['conversation_id', { tool: 'get_setting', args: { name: 'debug' }, conversation_id: 7 }, 'conversation_id must be a string'],
    ])('with a %s of the wrong type → 400 naming it', async (field, body, message) => {
      const response = await request(app.baseUrl).post('/agent-tools').set('X-EL-Secret', SECRET).send(body).expect(400);
      expect(response.body).toEqual({
        ok: false,
        say: `Invalid request: ${message}`,
        result: { error: 'Bad Request', fields: [{ field, message }] },
      });
    });

    it('an unknown tool → 404 with "Unknown tool: <name>"', async () => {
      await tool('launch_rockets').expect(404, { ok: false, say: 'Unknown tool: launch_rockets', result: { error: 'Unknown tool' } });
      expect(app.logs.lines.some((line) => line.msg === 'Unknown tool requested: launch_rockets')).toBe(true);
    });

    it('takes args as optional, and logs the conversation id with the execution', async () => {
      await request(app.baseUrl)
        .post('/agent-tools')
        .set('X-EL-Secret', SECRET)
        .send({ tool: 'list_tasks', conversation_id: 'conv-123' })
        .expect(200);
      expect(app.logs.lines).toContainEqual(
        expect.objectContaining({ msg: 'Executing tool list_tasks', conversationId: 'conv-123' }),
      );
    });
  });

  describe('settings tools', () => {
    it('get_setting reads false for a missing row and set_setting writes; the next read is fresh', async () => {
      await tool('get_setting', { name: 'allow_audio_output' }).expect(200, {
        ok: true,
        say: 'allow_audio_output is disabled.',
        result: { name: 'allow_audio_output', enabled: false },
      });
      const written = await tool('set_setting', { name: 'allow_audio_output', enabled: true }).expect(200);
      expect(written.body).toEqual({
        ok: true,
        say: 'allow_audio_output is now enabled.',
        result: { name: 'allow_audio_output', enabled: true, updated_at: expect.stringMatching(TIMESTAMP) },
      });
      await tool('get_setting', { name: 'allow_audio_output' }).expect(200, {
        ok: true,
        say: 'allow_audio_output is enabled.',
        result: { name: 'allow_audio_output', enabled: true },
      });
    });

    it('share the settings cache with the HTTP API both ways', async () => {
      const admin = { 'X-Admin-Secret': SECRET };
      await request(app.baseUrl).get('/settings/shared_cache').set(admin).expect(200, { name: 'shared_cache', enabled: false });
      await tool('set_setting', { name: 'shared_cache', enabled: true }).expect(200);
      await request(app.baseUrl).get('/settings/shared_cache').set(admin).expect(200, { name: 'shared_cache', enabled: true });
      await request(app.baseUrl).put('/settings/shared_cache').set(admin).send({ enabled: false }).expect(200);
      const read = await tool('get_setting', { name: 'shared_cache' }).expect(200);
      expect(read.body.result).toEqual({ name: 'shared_cache', enabled: false });
    });

    it('caches get_setting: repeated calls load the setting once', async () => {
      const settings = app.app.get(CacheRegistry).byName('settings')!;
      const before = settings.stats.loads;
      for (let index = 0; index < 4; index += 1) await tool('get_setting', { name: 'task_operator' }).expect(200);
      expect(settings.stats.loads - before).toBe(1);
    });

    it.each([
      ['get_setting', {}, [['name', 'name is required']]],
      ['get_setting', { name: 5 }, [['name', 'name must be a string']]],
      ['get_setting', { name: 'Not-Valid' }, [['name', 'name must be 1-64 lowercase letters, digits or underscores']]],
      ['set_setting', { name: 'debug' }, [['enabled', 'enabled is required']]],
      ['set_setting', { name: 'debug', enabled: 'yes' }, [['enabled', 'enabled must be true or false']]],
      ['set_setting', {}, [['name', 'name is required'], ['enabled', 'enabled is required']]],
    ] as [string, Record<string, unknown>, [string, string][]][])('%s with %j → 400 naming the argument', async (name, args, fields) => {
      await tool(name, args).expect(400, invalidArguments(name, ...fields));
    });
  });

  describe('task tools', () => {
    it('create_task generates a uuid and defaults to ready at order 0', async () => {
      const response = await tool('create_task', { prompt: '  Write the changelog  ' }).expect(200);
      expect(response.body).toEqual({
        ok: true,
        say: `Created task ${response.body.result.id} (ready).`,
        result: {
          id: expect.any(Number),
          uuid: expect.stringMatching(UUID),
          prompt: 'Write the changelog',
          order: 0,
          status: 0,
          status_label: 'ready',
          created_at: expect.stringMatching(TIMESTAMP),
          updated_at: expect.stringMatching(TIMESTAMP),
        },
      });
    });

    it.each(TASK_STATUSES.map((name, code) => [name, code] as const))(
      'create_task takes the status by name (%s = %i) or by code',
      async (name, code) => {
        const byName = await tool('create_task', { prompt: `by name ${name}`, status: name, order: 3 }).expect(200);
        const byCode = await tool('create_task', { prompt: `by code ${code}`, status: code }).expect(200);
        expect(byName.body.result).toMatchObject({ status: code, status_label: name, order: 3 });
        expect(byCode.body.result).toMatchObject({ status: code, status_label: name, order: 0 });
      },
    );

    it('get_task finds a task by id and by uuid; an unknown one is ok:false', async () => {
      const created = (await tool('create_task', { prompt: 'Find me' }).expect(200)).body.result;
      const expected = { ok: true, say: `Task ${created.id} is ready: Find me`, result: created };
      await tool('get_task', { id: created.id }).expect(200, expected);
      await tool('get_task', { uuid: created.uuid }).expect(200, expected);
      await tool('get_task', { id: 999_999 }).expect(200, {
        ok: false,
        say: 'There is no task with id 999999.',
        result: { error: 'Task not found' },
      });
      await tool('get_task', { uuid: 'no-such-uuid' }).expect(200, {
        ok: false,
        say: 'There is no task with uuid no-such-uuid.',
        result: { error: 'Task not found' },
      });
    });

    it('update_task_status changes the status and a following get_task is fresh', async () => {
      const created = (await tool('create_task', { prompt: 'Move me' }).expect(200)).body.result;
      await tool('get_task', { id: created.id }).expect(200);
      const updated = await tool('update_task_status', { id: created.id, status: 'in_progress' }).expect(200);
      expect(updated.body).toEqual({
        ok: true,
        say: `Task ${created.id} is now in_progress.`,
        result: { ...created, status: 4, status_label: 'in_progress', updated_at: expect.stringMatching(TIMESTAMP) },
      });
      const read = await tool('get_task', { id: created.id }).expect(200);
      expect(read.body.result).toMatchObject({ status: 4, status_label: 'in_progress' });
      await tool('update_task_status', { uuid: created.uuid, status: 1 }).expect(200);
      expect((await tool('get_task', { uuid: created.uuid }).expect(200)).body.result.status_label).toBe('complete');
    });

    it('update_task_status answers with the status it set while another process changes the same task', async () => {
      const created = (await tool('create_task', { prompt: 'Fought over' }).expect(200)).body.result;
      // Another service (cursor-runner's tools) setting the task's status over and over, on its own connection.
      const writer = spawn(
        process.execPath,
        [
          '-e',
          `const db = new (require('better-sqlite3'))(process.argv[1]); db.pragma('busy_timeout = 1000');
           const set = db.prepare('UPDATE tasks SET status = 3 WHERE id = ?');
           const until = Date.now() + 3000; while (Date.now() < until) set.run(Number(process.argv[2]));`,
          app.databaseFile,
          String(created.id),
        ],
        { stdio: 'ignore' },
      );
      const exited = new Promise((resolve) => writer.once('exit', resolve));
      try {
        const said: string[] = [];
        for (let round = 0; round < 10; round += 1) {
          const answers = await Promise.all(Array.from({ length: 10 }, () => tool('update_task_status', { id: created.id, status: 'in_progress' })));
          said.push(...answers.map((answer) => answer.body.result?.status_label ?? answer.body.say));
        }
        expect(said.filter((label) => label !== 'in_progress')).toEqual([]);
      } finally {
        writer.kill();
        await exited;
      }
    });

    it('create_task stores a prompt with a surrogate pair (an emoji) as sent', async () => {
      const created = (await tool('create_task', { prompt: 'ship it \ud83d\ude80' }).expect(200)).body.result;
      expect((await tool('get_task', { id: created.id }).expect(200)).body.result.prompt).toBe('ship it 🚀');
    });

    it('update_task_status of an unknown task is ok:false', async () => {
      await tool('update_task_status', { uuid: 'missing', status: 'archived' }).expect(200, {
        ok: false,
        say: 'There is no task with uuid missing.',
        result: { error: 'Task not found' },
      });
    });

    it('list_tasks is cached, and a create_task is in the next list at once', async () => {
      const before = (await tool('list_tasks', { status: 'backlogged', limit: 100 }).expect(200)).body.result.tasks;
      const tasks = app.app.get(CacheRegistry).byName('tasks')!;
      const loads = tasks.stats.loads;
      await tool('list_tasks', { status: 'backlogged', limit: 100 }).expect(200);
      expect(tasks.stats.loads).toBe(loads);

      const created = (await tool('create_task', { prompt: 'Later', status: 'backlogged' }).expect(200)).body.result;
      const after = await tool('list_tasks', { status: 'backlogged', limit: 100 }).expect(200);
      const inQueueOrder = [...before, created].sort((a, b) => a.order - b.order || a.id - b.id);
      expect(after.body.result.tasks).toEqual(inQueueOrder);
      expect(after.body.say).toBe(`Found ${before.length + 1} backlogged tasks.`);
    });

    it('list_tasks orders by order then id, filters by status and honours limit', async () => {
      const first = (await tool('create_task', { prompt: 'second in queue', order: 20, status: 'archived' }).expect(200)).body.result;
      const second = (await tool('create_task', { prompt: 'first in queue', order: 10, status: 'archived' }).expect(200)).body.result;
      const listed = await tool('list_tasks', { status: 2 }).expect(200);
      const ids = listed.body.result.tasks.map((task: { id: number }) => task.id);
      expect(ids.indexOf(second.id)).toBeLessThan(ids.indexOf(first.id));
      expect(listed.body.result.tasks.every((task: { status: number }) => task.status === 2)).toBe(true);
      const limited = await tool('list_tasks', { limit: 1 }).expect(200);
      expect(limited.body.result.tasks).toHaveLength(1);
      expect(limited.body.say).toBe('Found 1 task.');
    });

    it('sees a task another service wrote straight into the database within the TTL backstop', async () => {
      await tool('list_tasks', { status: 'ready', limit: 100 }).expect(200);
      const uuid = randomUUID();
      writeSharedDb(app.databaseFile, 'INSERT INTO tasks (prompt, "order", uuid, status) VALUES (?, 0, ?, 0)', 'from cursor-runner', uuid);
      const { value } = await pollUntil(
        async () => (await tool('list_tasks', { status: 'ready', limit: 100 }).expect(200)).body.result.tasks as { uuid: string }[],
        (tasks) => tasks.some((task) => task.uuid === uuid),
        TASKS_TTL_MS + 3_000,
      );
      expect(value.map((task) => task.uuid)).toContain(uuid);
    });

    it.each([
      ['list_tasks', { status: 9 }, [['status', 'status must be a status code 0-4 or one of ready, complete, archived, backlogged, in_progress']]],
      ['list_tasks', { status: 'done' }, [['status', 'status must be a status code 0-4 or one of ready, complete, archived, backlogged, in_progress']]],
      ['list_tasks', { limit: 0 }, [['limit', 'limit must be between 1 and 100']]],
      ['list_tasks', { limit: 101 }, [['limit', 'limit must be between 1 and 100']]],
      ['list_tasks', { limit: 'ten' }, [['limit', 'limit must be an integer']]],
      ['get_task', {}, [['id', 'id or uuid is required']]],
      ['get_task', { id: 1, uuid: 'x' }, [['uuid', 'uuid cannot be given together with id']]],
      ['get_task', { id: 'one' }, [['id', 'id must be an integer']]],
      ['get_task', { id: 0 }, [['id', 'id must be a positive integer']]],
      ['get_task', { id: 1.5 }, [['id', 'id must be an integer']]],
      ['get_task', { uuid: '' }, [['uuid', 'uuid must not be empty']]],
      ['create_task', {}, [['prompt', 'prompt is required']]],
      ['create_task', { prompt: '   ' }, [['prompt', 'prompt must not be empty']]],
      ['create_task', { prompt: 'x'.repeat(20_001) }, [['prompt', 'prompt must be at most 20000 characters']]],
      ['create_task', { prompt: 'ok', order: 'first' }, [['order', 'order must be an integer']]],
      ...['\ud800x', 'x\udfff', 'a\udc00\ud83d'].map((prompt) => [
        'create_task',
        { prompt },
        [['prompt', 'prompt must not contain a lone UTF-16 surrogate (a \\ud800-\\udfff escape without its pair), which UTF-8 cannot store']],
      ]),
      ['create_task', { prompt: 'ok', status: -1 }, [['status', 'status must be a status code 0-4 or one of ready, complete, archived, backlogged, in_progress']]],
      ['update_task_status', { id: 1 }, [['status', 'status is required']]],
      ['update_task_status', { status: 1 }, [['id', 'id or uuid is required']]],
      ['update_task_status', { id: 1, status: 'finished' }, [['status', 'status must be a status code 0-4 or one of ready, complete, archived, backlogged, in_progress']]],
    ] as [string, Record<string, unknown>, [string, string][]][])('%s with %j → 400 naming the argument', async (name, args, fields) => {
      await tool(name, args).expect(400, invalidArguments(name, ...fields));
    });
  });

  describe('a failing handler', () => {
    it('answers ok:false with a generic say and error, no stack trace or internals, and logs the error', async () => {
      const response = await tool('fail_loudly').expect(200);
      expect(response.body).toEqual({
        ok: false,
        say: 'Sorry, the fail_loudly tool failed.',
        result: { error: 'Tool execution failed' },
      });
      expect(response.text).not.toMatch(/secret|sqlite|\bat\b/);
      const logged = app.logs.lines.find((line) => line.msg === 'Tool fail_loudly failed');
      expect(logged).toMatchObject({ level: 50, err: { message: 'connection to /var/secret/shared.sqlite3 lost' } });
    });
  });

  describe('the tool registry', () => {
    it('is built once at startup: calls never scan the DI container again', async () => {
      const registry = app.app.get(ToolRegistry);
      const tools = registry.tools();
      const scan = jest.spyOn(app.app.get(DiscoveryService), 'getProviders');
      try {
        await tool('get_setting', { name: 'debug' }).expect(200);
        await tool('list_tasks').expect(200);
        await tool('no_such_tool').expect(404);
        await request(app.baseUrl).get('/agent-tools').set('X-EL-Secret', SECRET).set('Cache-Control', 'no-store').expect(200);
        expect(scan).not.toHaveBeenCalled();
      } finally {
        scan.mockRestore();
      }
      expect(registry.tools()).toBe(tools);
    });

    it('holds every @AgentTool provider, including one a module outside the tools module adds', () => {
      expect([...app.app.get(ToolRegistry).tools().keys()]).toEqual([
        'create_task',
        'fail_loudly',
        'get_setting',
        'get_task',
        'list_tasks',
        'set_setting',
        'update_task_status',
      ]);
    });
  });
});

describe('GET /agent-tools', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startToolsApp();
  });
  afterAll(() => app.close());

  it('lists every tool with a one-line description and the JSON Schema of its arguments', async () => {
    const response = await request(app.baseUrl).get('/agent-tools').set('X-EL-Secret', SECRET).expect(200);
    const tools = response.body.tools as { name: string; description: string; args: Record<string, unknown> }[];
    expect(tools.map((entry) => entry.name)).toEqual([
      'create_task',
      'fail_loudly',
      'get_setting',
      'get_task',
      'list_tasks',
      'set_setting',
      'update_task_status',
    ]);
    for (const entry of tools) {
      expect(entry.description).toMatch(/^[^\n]{10,120}$/);
      expect(entry.args).toMatchObject({ type: 'object' });
    }
    expect(tools.find((entry) => entry.name === 'set_setting')).toEqual({
      name: 'set_setting',
      description: 'Enable or disable a system setting.',
      args: {
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'object',
        properties: {
          name: {
            type: 'string',
            pattern: '^[a-z0-9_]{1,64}$',
            description: 'Setting name: debug, allow_audio_output, task_operator, …',
          },
          enabled: { type: 'boolean', description: 'true to enable, false to disable' },
        },
        required: ['name', 'enabled'],
      },
    });
    expect(tools.find((entry) => entry.name === 'list_tasks')!.args).toEqual({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      properties: {
        status: {
          description: '0 ready, 1 complete, 2 archived, 3 backlogged, 4 in_progress',
          anyOf: [
            { type: 'integer', minimum: 0, maximum: 4 },
            { type: 'string', enum: ['ready', 'complete', 'archived', 'backlogged', 'in_progress'] },
          ],
        },
        limit: { type: 'integer', minimum: 1, maximum: 100, default: 20, description: 'Most tasks returned' },
      },
    });
  });

  it('is cached in this process only (the list changes only with a deploy)', async () => {
    const first = await request(app.baseUrl).get('/agent-tools').set('Authorization', `Bearer ${SECRET}`).expect(200);
    const second = await request(app.baseUrl).get('/agent-tools').set('Authorization', `Bearer ${SECRET}`).expect(200);
    expect(first.headers['x-cache']).toBe('MISS');
    expect(second.headers['x-cache']).toBe('HIT');
    expect(second.body).toEqual(first.body);
    const redis = app.app.get(CacheRegistry).l2!.client;
    expect(await redis.keys(`${app.config.cache.keyPrefix}:*:tools:*`)).toEqual([]);
  });

  it.each([
    ['no credentials', {}],
    ['a wrong secret', { 'X-EL-Secret': 'wrong' }],
  ])('refuses %s with 401 JSON', async (_label, headers) => {
    const response = await request(app.baseUrl).get('/agent-tools').set(headers).expect(401);
    expect(response.body).toMatchObject({ ok: false, result: { error: 'Unauthorized' } });
    expect(response.body.tools).toBeUndefined();
  });
});

describe('task tools with the database failing', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startToolsApp();
    execSharedDb(app.databaseFile, 'DROP TABLE tasks');
  });
  afterAll(() => app.close());

  it.each([
    ['list_tasks', {}],
    ['get_task', { id: 1 }],
    ['create_task', { prompt: 'x' }],
    ['update_task_status', { id: 1, status: 1 }],
  ])('%s answers ok:false without internals', async (name, args) => {
    const response = await callTool(app.baseUrl, name, args).expect(200);
    expect(response.body).toEqual({ ok: false, say: `Sorry, the ${name} tool failed.`, result: { error: 'Tool execution failed' } });
    expect(response.text).not.toMatch(/table|sqlite|prisma/i);
  });
});
