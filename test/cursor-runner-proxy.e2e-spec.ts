import request from 'supertest';
import { EXECUTE, EXECUTE_ASYNC, fileTreeRoute, startFakeCursorRunner, type FileNode } from './support/fakes/cursor-runner-server';
import { FakeHttpServer } from './support/fakes/fake-http-server';
import { CLOSED_PORT } from './support/redis-server';
import { pollUntil } from './support/poll';
import { startTestApp, type TestApp } from './support/test-app';

const SECRET = 'test-webhook-secret';
const ADMIN = { 'X-Admin-Secret': SECRET };

describe('cursor-runner proxy routes', () => {
  let fake: FakeHttpServer;
  let app: TestApp;

  beforeAll(async () => {
    fake = await startFakeCursorRunner({ webhookSecret: SECRET });
    app = await startTestApp({
      env: { CURSOR_RUNNER_URL: fake.url, CURSOR_RUNNER_CALLBACK_BASE_URL: 'http://jarek-va.internal:3000' },
    });
  });
  afterEach(() => fake.reset());
  afterAll(async () => {
    await app.close();
    await fake.stop();
  });

  it('runs a prompt and returns cursor-runner’s answer as it is, with 200', async () => {
    const response = await request(app.baseUrl)
      .post('/cursor-runner/cursor/execute')
      .set(ADMIN)
      .send({ repository: 'notes', branch_name: 'main', prompt: 'add a note', id: 'req-1700000000-0a1b2c3d' })
      .expect(200);
    expect(response.body).toEqual({
      success: true,
      requestId: 'req-1700000000-0a1b2c3d',
      repository: 'notes',
      command: ['--model', 'auto', '--print', '--force', 'add a note'],
      output: 'ran: add a note',
      error: null,
      exitCode: 0,
      duration: '5ms',
      timestamp: expect.any(String),
      branchName: 'main',
    });
    const [sent] = fake.requestsTo(EXECUTE);
    expect(sent.body).toEqual({ id: 'req-1700000000-0a1b2c3d', repository: 'notes', branchName: 'main', prompt: 'add a note' });
    expect(sent.headers).toMatchObject({
      'content-type': 'application/json',
      accept: 'application/json',
      'x-webhook-secret': SECRET,
    });
    expect(fake.requests).toHaveLength(1);
  });

  it('accepts branchName too (branch_name wins) and makes up a request id when none is given', async () => {
    await request(app.baseUrl)
      .post('/cursor-runner/cursor/execute')
      .set(ADMIN)
      .send({ branchName: 'dev', prompt: 'p' })
      .expect(200);
    await request(app.baseUrl)
      .post('/cursor-runner/cursor/execute')
      .set(ADMIN)
      .send({ branchName: 'dev', branch_name: 'main', prompt: 'p' })
      .expect(200);
    const [camel, both] = fake.requestsTo(EXECUTE).map((sent) => sent.body as Record<string, unknown>);
    expect(camel).toEqual({ id: expect.stringMatching(/^req-\d{10}-[0-9a-f]{8}$/), branchName: 'dev', prompt: 'p' });
    expect(both.branchName).toBe('main');
  });

  it('takes an optional field sent as null as left out, sending cursor-runner no null', async () => {
    await request(app.baseUrl)
      .post('/cursor-runner/cursor/execute')
      .set(ADMIN)
      .send({ prompt: 'p', repository: null, branch_name: null, branchName: null, id: null })
      .expect(200);
    const [sent] = fake.requestsTo(EXECUTE).map((received) => received.body as Record<string, unknown>);
    expect(sent).toEqual({ id: expect.stringMatching(/^req-\d{10}-[0-9a-f]{8}$/), prompt: 'p' });
  });

  it('starts an async run with this service’s callback URL, which carries no secret, and never logs the secret', async () => {
    const response = await request(app.baseUrl)
      .post('/cursor-runner/cursor/execute/async')
      .set(ADMIN)
      .send({ prompt: 'long job', id: 'telegram-1700000000-0a1b2c3d' })
      .expect(200);
    expect(response.body).toEqual({
      success: true,
      message: 'Request accepted, processing asynchronously',
      requestId: 'telegram-1700000000-0a1b2c3d',
      timestamp: expect.any(String),
    });
    const [sent] = fake.requestsTo(EXECUTE_ASYNC);
    expect(sent.headers['x-webhook-secret']).toBe(SECRET);
    expect(sent.body).toEqual({
      id: 'telegram-1700000000-0a1b2c3d',
      prompt: 'long job',
      callbackUrl: 'http://jarek-va.internal:3000/cursor-runner/callback',
    });
    expect(app.logs.raw.join('\n')).toContain('cursor-runner POST /cursor/execute/async → 200');
    expect(app.logs.raw.join('\n')).not.toContain(SECRET);
  });

  it("refuses cursor-runner's own fields it would not pass on (a caller's callbackUrl, conversationId), starting nothing", async () => {
    const response = await request(app.baseUrl)
      .post('/cursor-runner/cursor/execute/async')
      .set(ADMIN)
      .send({ prompt: 'long job', callbackUrl: 'https://elsewhere.example/hook', conversationId: 'c-1' })
      .expect(400);
    expect(response.body.result.fields).toEqual([
      { field: 'callbackUrl', message: 'callbackUrl is not a field this route takes' },
      { field: 'conversationId', message: 'conversationId is not a field this route takes' },
    ]);
    expect(fake.requests).toHaveLength(0);
  });

  it('passes a failed run through with 422, whether cursor-runner said 422 or 200', async () => {
    const failed = { success: false, requestId: 'r-1', error: 'agent exited with 1', exitCode: 1 };
    fake.enqueue(EXECUTE, { status: 422, body: failed }, { status: 200, body: failed });
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const response = await request(app.baseUrl)
        .post('/cursor-runner/cursor/execute')
        .set(ADMIN)
        .send({ prompt: 'p' })
        .expect(422);
      expect(response.body).toEqual(failed);
    }
  });

  it('answers 502 with cursor-runner’s error message when it fails', async () => {
    fake.enqueue(EXECUTE, { status: 500, body: { success: false, error: 'cursor-agent crashed' } });
    const response = await request(app.baseUrl)
      .post('/cursor-runner/cursor/execute')
      .set(ADMIN)
      .send({ prompt: 'p' })
      .expect(502);
    expect(response.body).toEqual({ success: false, error: 'cursor-agent crashed' });
  });

  it('answers 502 naming the status when the failure has no message, and for a 2xx that is not JSON', async () => {
    fake.enqueue(EXECUTE, { status: 503, body: '<h1>Service Unavailable</h1>' }, { status: 200, body: 'OK' });
    const unavailable = await request(app.baseUrl).post('/cursor-runner/cursor/execute').set(ADMIN).send({ prompt: 'p' });
    expect(unavailable.status).toBe(502);
    expect(unavailable.body).toEqual({ success: false, error: 'HTTP 503: Service Unavailable' });
    const garbled = await request(app.baseUrl).post('/cursor-runner/cursor/execute').set(ADMIN).send({ prompt: 'p' });
    expect(garbled.status).toBe(502);
    expect(garbled.body).toEqual({
      success: false,
      error: expect.stringMatching(/^Failed to parse response: Unexpected token/),
    });
  });

  it('answers 413 saying why when cursor-runner refuses a prompt over its 100 KB body limit; the async run is not kept', async () => {
    const prompt = 'p'.repeat(150 * 1024);
    for (const route of ['/cursor-runner/cursor/execute', '/cursor-runner/cursor/execute/async']) {
      const response = await request(app.baseUrl).post(route).set(ADMIN).send({ prompt, id: 'req-1700000000-00000413' }).expect(413);
      expect(response.body).toEqual({
        ok: false,
        say: 'cursor-runner refused the request as too large (request entity too large): it reads request bodies of up to 100 KB, so send a shorter prompt.',
        result: { error: 'Payload Too Large' },
      });
    }
    // The async run's id was given back: it can be used again.
    await request(app.baseUrl).post('/cursor-runner/cursor/execute/async').set(ADMIN).send({ prompt: 'short', id: 'req-1700000000-00000413' }).expect(200);
  });

  it('answers 502 "Route not found" for a route cursor-runner does not have', async () => {
    fake.enqueue(EXECUTE_ASYNC, { status: 404, body: { success: false, error: 'Route not found' } });
    const response = await request(app.baseUrl)
      .post('/cursor-runner/cursor/execute/async')
      .set(ADMIN)
      .send({ prompt: 'p' })
      .expect(502);
    expect(response.body).toEqual({ success: false, error: 'Route not found' });
  });

  it.each([
    ['a missing prompt', {}, 'prompt'],
    ['a blank prompt', { prompt: '   ' }, 'prompt'],
    ['a numeric prompt', { prompt: 7 }, 'prompt'],
    ['an id with a space', { prompt: 'p', id: 'has space' }, 'id'],
    ['an id of 256 characters', { prompt: 'p', id: 'x'.repeat(256) }, 'id'],
    ['a repository list', { prompt: 'p', repository: ['a'] }, 'repository'],
    ['a numeric branch_name', { prompt: 'p', branch_name: 1 }, 'branch_name'],
  ])('answers 400 naming the field for %s and does not call cursor-runner', async (_, body, field) => {
    const response = await request(app.baseUrl).post('/cursor-runner/cursor/execute').set(ADMIN).send(body).expect(400);
    expect(response.body).toEqual({
      ok: false,
      say: expect.stringMatching(/^Invalid request: /),
      result: { error: 'Bad Request', fields: expect.arrayContaining([expect.objectContaining({ field })]) },
    });
    expect(fake.requests).toHaveLength(0);
  });

  it.each([
    ['missing', {}, 'The admin secret is missing: send it in the X-Admin-Secret header.'],
    ['wrong', { 'X-Admin-Secret': 'not-it' }, 'The admin secret is wrong.'],
  ])('answers 401 when the admin secret is %s, for both routes', async (_, headers, say) => {
    for (const path of ['/cursor-runner/cursor/execute', '/cursor-runner/cursor/execute/async']) {
      const response = await request(app.baseUrl).post(path).set(headers).send({ prompt: 'p' }).expect(401);
      expect(response.body).toEqual({ ok: false, say, result: { error: 'Unauthorized' } });
    }
    expect(fake.requests).toHaveLength(0);
  });

  it('reuses one keep-alive connection for consecutive calls', async () => {
    for (let call = 0; call < 4; call += 1) {
      await request(app.baseUrl).post('/cursor-runner/cursor/execute').set(ADMIN).send({ prompt: `p${call}` }).expect(200);
    }
    const sockets = new Set(fake.requests.map((sent) => sent.socket));
    expect(fake.requests).toHaveLength(4);
    expect(sockets.size).toBe(1);
  });
});

describe('GET /cursor-runner/repositories/:repository/files', () => {
  const TREE: FileNode[] = [
    { name: 'src', path: 'src', type: 'directory', children: [{ name: 'a.ts', path: 'src/a.ts', type: 'file' }] },
    { name: 'README.md', path: 'README.md', type: 'file' },
  ];
  let fake: FakeHttpServer;
  let app: TestApp;

  beforeAll(async () => {
    fake = await startFakeCursorRunner({ webhookSecret: SECRET, fileTrees: { notes: TREE, 'jarek-va.v2_x': [] } });
    app = await startTestApp({ env: { CURSOR_RUNNER_URL: fake.url } });
  });
  afterEach(() => fake.reset());
  afterAll(async () => {
    await app.close();
    await fake.stop();
  });

  it("serves cursor-runner's file tree and keeps it 30 s in the cursor-runner namespace", async () => {
    const first = await request(app.baseUrl).get('/cursor-runner/repositories/notes/files').set(ADMIN).expect(200);
    const second = await request(app.baseUrl).get('/cursor-runner/repositories/notes/files').set(ADMIN).expect(200);

    expect(first.body).toEqual(TREE);
    expect(second.body).toEqual(TREE);
    expect([first.headers['x-cache'], second.headers['x-cache']]).toEqual(['MISS', 'HIT']);
    expect(fake.requestsTo(fileTreeRoute('notes'))).toHaveLength(1);
    expect(fake.requestsTo(fileTreeRoute('notes'))[0].headers['x-webhook-secret']).toBe(SECRET);
    const { body: inventory } = await request(app.baseUrl).get('/admin/cache/inventory').set(ADMIN).expect(200);
    expect(inventory.routes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: '/cursor-runner/repositories/:repository/files', namespace: 'cursor-runner' }),
      ]),
    );
    expect(inventory.namespaces).toEqual(
      expect.arrayContaining([expect.objectContaining({ namespace: 'cursor-runner', ttlMs: 30_000 })]),
    );
    await request(app.baseUrl).get('/cursor-runner/repositories/notes/files').expect(401);
  });

  it('passes on 404 for a repository cursor-runner does not have, and caches nothing', async () => {
    for (let i = 0; i < 2; i += 1) {
      const response = await request(app.baseUrl).get('/cursor-runner/repositories/absent/files').set(ADMIN).expect(404);
      expect(response.body).toEqual({ ok: false, say: "Repository 'absent' not found", result: { error: 'Not Found' } });
    }
    expect(fake.requestsTo(fileTreeRoute('absent'))).toHaveLength(2);
  });

  it('never caches a failure: a dropped connection is a 502, the next call asks again', async () => {
    fake.enqueue(fileTreeRoute('jarek-va.v2_x'), { drop: true }, { drop: true });
    await request(app.baseUrl).get('/cursor-runner/repositories/jarek-va.v2_x/files').set(ADMIN).expect(502);
    const after = await request(app.baseUrl).get('/cursor-runner/repositories/jarek-va.v2_x/files').set(ADMIN).expect(200);
    expect(after.body).toEqual([]);
    expect(after.headers['x-cache']).toBe('MISS');
  });

  it.each([
    ['..', '..', 400],
    ['.', '.', 400],
    ['a hidden folder', '.git', 400],
    ['an encoded traversal', '..%2F..%2Fetc', 400],
    ['an encoded dot-dot', '%2e%2e', 400],
    ['an encoded slash', 'notes%2Fsrc', 400],
    ['a NUL byte', 'notes%00', 400],
    ['a backslash', '..%5C..%5Cetc', 400],
    ['a space', 'my%20notes', 400],
    ['a non-ASCII letter', 'n%C3%B6tes', 400],
    ['a broken percent-encoding', 'notes%E0%A4%A', 400],
    ['a name over 100 characters (Fastify: URI too long)', 'n'.repeat(101), 414],
    ['a huge name (Node: header fields too large)', 'n'.repeat(20_000), 431],
  ])('refuses %s before asking cursor-runner', async (_case, name, status) => {
    const response = await request(app.baseUrl).get(`/cursor-runner/repositories/${name}/files`).set(ADMIN);
    expect(response.status).toBe(status);
    expect(fake.requests).toHaveLength(0);
  });

  it('answers a bad name with a JSON 400 saying what a name must be', async () => {
    const response = await request(app.baseUrl).get('/cursor-runner/repositories/..%2F..%2Fetc/files').set(ADMIN).expect(400);
    expect(response.body).toEqual({
      ok: false,
      say: expect.stringContaining('repository must be one folder name'),
      result: { error: 'Bad Request', fields: [{ field: 'repository', message: 'must be one folder name' }] },
    });
  });

  it('answers 502 from a cursor-runner without the route (before 2025-11-14)', async () => {
    const old = await FakeHttpServer.start(() => ({ status: 404, body: { success: false, error: 'Route not found' } }));
    const oldApp = await startTestApp({ env: { CURSOR_RUNNER_URL: old.url } });
    try {
      const response = await request(oldApp.baseUrl).get('/cursor-runner/repositories/notes/files').set(ADMIN).expect(502);
      expect(response.body).toEqual({ success: false, error: 'Route not found' });
    } finally {
      await oldApp.close();
      await old.stop();
    }
  });
});

describe('GET /cursor-runner/git/repositories', () => {
  it('is gone: 410 naming the route that replaced it, without asking cursor-runner', async () => {
    const fake = await startFakeCursorRunner({ webhookSecret: SECRET });
    const app = await startTestApp({ env: { CURSOR_RUNNER_URL: fake.url } });
    try {
      const response = await request(app.baseUrl).get('/cursor-runner/git/repositories').set(ADMIN).expect(410);
      expect(response.body).toEqual({
        ok: false,
        say: expect.stringContaining('GET /cursor-runner/repositories/:repository/files'),
        result: { error: 'Gone' },
      });
      expect(fake.requests).toHaveLength(0);
    } finally {
      await app.close();
      await fake.stop();
    }
  });
});

describe('cursor-runner connections on shutdown', () => {
  it('closes its keep-alive connections to cursor-runner when the app stops', async () => {
    const fake = await startFakeCursorRunner();
    const app = await startTestApp({ env: { CURSOR_RUNNER_URL: fake.url } });
    try {
      await request(app.baseUrl).post('/cursor-runner/cursor/execute').set(ADMIN).send({ prompt: 'p' }).expect(200);
      expect(fake.openConnectionCount).toBe(1);
      await app.close();
      const { value: open } = await pollUntil(async () => fake.openConnectionCount, (count) => count === 0, 2_000, 20);
      expect(open).toBe(0);
    } finally {
      await fake.stop();
    }
  });
});

describe('cursor-runner proxy routes when cursor-runner is unreachable or slow', () => {
  it('answers 502 with a connection error when nothing listens at CURSOR_RUNNER_URL', async () => {
    const port = CLOSED_PORT;
    const app = await startTestApp({ env: { CURSOR_RUNNER_URL: `http://127.0.0.1:${port}` } });
    try {
      const response = await request(app.baseUrl)
        .post('/cursor-runner/cursor/execute')
        .set(ADMIN)
        .send({ prompt: 'p' })
        .expect(502);
      expect(response.body).toEqual({
        success: false,
        error: `Failed to connect to cursor-runner: connect ECONNREFUSED 127.0.0.1:${port}`,
      });
    } finally {
      await app.close();
    }
  });

  it('answers 502 with a timeout error after CURSOR_RUNNER_TIMEOUT seconds', async () => {
    const fake = await startFakeCursorRunner();
    const app = await startTestApp({ env: { CURSOR_RUNNER_URL: fake.url, CURSOR_RUNNER_TIMEOUT: '1' } });
    try {
      fake.enqueue(EXECUTE, { delayMs: 60_000, body: { success: true } });
      const response = await request(app.baseUrl)
        .post('/cursor-runner/cursor/execute')
        .set(ADMIN)
        .send({ prompt: 'p' })
        .expect(502);
      expect(response.body).toEqual({
        success: false,
        error: 'Request to cursor-runner timed out: no answer within 1000 ms',
      });
      expect(fake.requestsTo(EXECUTE)).toHaveLength(1);
    } finally {
      await app.close();
      await fake.stop();
    }
  });
});
