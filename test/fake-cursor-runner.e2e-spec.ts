import * as fs from 'node:fs';
import * as path from 'node:path';
import request from 'supertest';
import {
  CallbackRecorder,
  cursorRunnerProtocol,
  fileTreeRoute,
  type FileNode,
  type RunScript,
} from './support/fakes/cursor-runner-server';
import { FakeHttpServer } from './support/fakes/fake-http-server';

interface RecordedCallback {
  url: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

function fixture<T = RecordedCallback>(name: string): T {
  return JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'cursor-runner', `${name}.json`), 'utf8')) as T;
}

/** Field names in order and each value's JSON type: what a receiver depends on. */
function shapeOf(body: Record<string, unknown>): [string, string][] {
  return Object.entries(body).map(([name, value]) => [name, value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value]);
}

/** The body without the fields that differ on every run (the time, the run's duration). */
function stable(body: Record<string, unknown>): Record<string, unknown> {
  const { timestamp: _timestamp, duration, ...rest } = body;
  return duration === '0ms' ? { ...rest, duration } : rest;
}

/**
 * The fake cursor-runner against what the real one sent in a recorded run (test/fixtures/cursor-runner):
 * the same headers, the same fields in the same order with the same types and values, for each
 * kind of outcome; and the routes the app calls answer in the recorded shapes.
 */
describe('fake cursor-runner speaks as the real one', () => {
  const SECRET = 'cr-secret';
  let receiver: FakeHttpServer;
  let cursorRunner: FakeHttpServer;
  const callbacks = new CallbackRecorder();
  const scripts = new Map<string, RunScript>();

  beforeAll(async () => {
    receiver = await FakeHttpServer.start(() => ({ body: { received: true } }));
    cursorRunner = await FakeHttpServer.start(
      cursorRunnerProtocol({
        webhookSecret: SECRET,
        fileTrees: { demo: fixture<FileNode[]>('repository-files') },
        run: ({ id }) => scripts.get(id) ?? { stdout: '' },
        callbacks,
      }),
    );
  });
  afterAll(async () => {
    await Promise.all([receiver.stop(), cursorRunner.stop()]);
  });
  beforeEach(() => {
    callbacks.reset();
    receiver.reset();
  });

  async function runAsync(body: Record<string, unknown>, callbackQuery = '') {
    const ack = await request(cursorRunner.url)
      .post('/cursor/execute/async')
      .set('X-Webhook-Secret', SECRET)
      .send({ ...body, callbackUrl: `${receiver.url}/cursor-runner/callback${callbackQuery}` })
      .expect(200);
    const [sent] = await callbacks.waitFor(1);
    const [received] = await receiver.waitForRequests(1);
    return { ack: ack.body as Record<string, unknown>, sent, received };
  }

  function expectSameCallback(
    received: { path: string; headers: Record<string, unknown>; body: unknown },
    recorded: RecordedCallback,
  ): void {
    const body = received.body as Record<string, unknown>;
    expect(received.path).toBe(recorded.url);
    for (const [header, value] of Object.entries(recorded.headers)) expect(received.headers[header]).toBe(value);
    expect(shapeOf(body)).toEqual(shapeOf(recorded.body));
    expect(stable(body)).toEqual(stable(recorded.body));
  }

  it('acknowledges an async run as cursor-runner does', async () => {
    const recorded = fixture<Record<string, unknown>>('execute-async-ack');
    scripts.set(String(recorded.requestId), { stdout: 'x' });
    const { ack } = await runAsync({ id: recorded.requestId, prompt: 'list files', repository: 'demo' });
    expect(shapeOf(ack)).toEqual(shapeOf(recorded));
    expect(ack.message).toBe(recorded.message);
  });

  it('reports a run whose agent exited 1 as success: true with the exit code and stderr', async () => {
    const recorded = fixture('callback-finished-exit-1');
    const id = String(recorded.body.requestId);
    scripts.set(id, {
      stdout: 'aaaaaaaaaaaaline "quoted"\n\ttab\n',
      stderr: 'Error: Authentication required. Please run cursor-agent login first.\n',
      exitCode: 1,
    });
    const { received } = await runAsync({ id, prompt: 'list files', repository: 'demo' });
    expectSameCallback(received, recorded);
  });

  it('reports a finished run without repository and with branchName as cursor-runner does', async () => {
    const recorded = fixture('callback-finished-exit-0');
    const id = String(recorded.body.requestId);
    scripts.set(id, { stdout: 'aaaaaaaaaaaaline "quoted"\n\ttab\n', exitCode: 0 });
    const { received } = await runAsync({ id, prompt: 'ok', branchName: 'main' });
    expectSameCallback(received, recorded);
  });

  it('refuses an unknown repository in the callback, with the URL\'s secret in both headers', async () => {
    const recorded = fixture('callback-refused-unknown-repository');
    const { received, sent } = await runAsync(
      { id: recorded.body.requestId, prompt: 'hi', repository: 'nope' },
      '?secret=url-secret',
    );
    expectSameCallback(received, recorded);
    expect(received.query).toEqual({});
    expect(sent.url).not.toContain('secret');
  });

  it('acknowledges a run without a prompt and refuses it in the callback', async () => {
    const recorded = fixture('callback-refused-no-prompt');
    const { ack, received } = await runAsync({ id: recorded.body.requestId });
    expect(ack.success).toBe(true);
    expectSameCallback(received, recorded);
  });

  it('reports its own failure without exit code or output', async () => {
    const recorded = fixture('callback-crashed-output-limit');
    const id = String(recorded.body.requestId);
    scripts.set(id, { crash: 'Output size exceeded limit: 10485760 bytes' });
    const { received } = await runAsync({ id, prompt: 'huge', repository: 'demo' });
    expectSameCallback(received, recorded);
  });

  it('sends an output over 1 MiB whole, in one callback', async () => {
    const output = 'é"\\\n'.repeat(400_000);
    scripts.set('req-big-1', { stdout: `${output}.`, exitCode: 0 });
    const { received, sent } = await runAsync({ id: 'req-big-1', prompt: 'big' });
    expect((received.body as Record<string, unknown>).output).toBe(`${output}.`);
    expect(sent.bytes).toBeGreaterThan(2 * 1024 * 1024);
    expect(received.rawBody.length).toBe(sent.bytes);
  });

  it('answers conversation/new and the file tree in the recorded shapes', async () => {
    const created = await request(cursorRunner.url).post('/cursor/conversation/new').send({ queueType: 'telegram' }).expect(200);
    expect(shapeOf(created.body as Record<string, unknown>)).toEqual(shapeOf(fixture<Record<string, unknown>>('conversation-new')));
    expect(created.body).toMatchObject({ success: true, message: 'New conversation created', queueType: 'telegram' });

    const tree = await request(cursorRunner.url).get('/repositories/api/demo/files').expect(200);
    expect(tree.body).toEqual(fixture('repository-files'));
    expect(cursorRunner.requestsTo(fileTreeRoute('demo'))).toHaveLength(1);
    const missing = await request(cursorRunner.url).get('/repositories/api/nope/files').expect(404);
    expect(missing.body).toEqual(fixture('repository-files-not-found'));
  });
});
