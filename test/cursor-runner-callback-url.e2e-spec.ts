import request from 'supertest';
import { CallbackRecorder, EXECUTE_ASYNC, startFakeCursorRunner } from './support/fakes/cursor-runner-server';
import type { FakeHttpServer } from './support/fakes/fake-http-server';
import { freePort } from './support/redis-server';
import { startTestApp, type TestApp } from './support/test-app';

const SECRET = 'callback-url-secret';
const ADMIN = { 'X-Admin-Secret': SECRET };

/**
 * The callback URL handed to cursor-runner, with cursor-runner calling back as it does: by default
 * the URL carries no secret (cursor-runner logs it) and the callback authenticates with
 * cursor-runner's own WEBHOOK_SECRET in its headers; CURSOR_RUNNER_CALLBACK_SECRET_IN_URL puts
 * the secret back in the URL for a cursor-runner without one.
 */
describe('callback URL handed to cursor-runner', () => {
  let cursorRunner: FakeHttpServer | undefined;
  let app: TestApp | undefined;
  const callbacks = new CallbackRecorder();

  afterEach(async () => {
    await app?.close();
    await cursorRunner?.stop();
    callbacks.reset();
  });

  /** The app, cursor-runner with `cursorRunnerSecret` as its WEBHOOK_SECRET, calling back to the app. */
  async function start(cursorRunnerSecret: string | undefined, env: Record<string, string> = {}): Promise<TestApp> {
    cursorRunner = await startFakeCursorRunner({ webhookSecret: cursorRunnerSecret, run: () => ({ stdout: 'done' }), callbacks });
    const port = await freePort();
    app = await startTestApp({
      port,
      env: { WEBHOOK_SECRET: SECRET, CURSOR_RUNNER_URL: cursorRunner.url, CURSOR_RUNNER_CALLBACK_BASE_URL: `http://127.0.0.1:${port}`, ...env },
    });
    return app;
  }

  async function runAsync(target: TestApp) {
    await request(target.baseUrl).post('/cursor-runner/cursor/execute/async').set(ADMIN).send({ prompt: 'p' }).expect(200);
    const [callback] = await callbacks.waitFor(1);
    const [sent] = cursorRunner!.requestsTo(EXECUTE_ASYNC);
    return { callback, callbackUrl: (sent.body as { callbackUrl: string }).callbackUrl };
  }

  it('carries no secret by default, and cursor-runner\'s own secret in its headers authenticates the callback', async () => {
    const target = await start(SECRET);
    const { callback, callbackUrl } = await runAsync(target);
    expect(callbackUrl).toBe(`${target.baseUrl}/cursor-runner/callback`);
    expect(callback.headers['X-Webhook-Secret']).toBe(SECRET);
    expect(callback.status).toBe(200);
    expect(target.logs.raw.join('\n')).not.toContain(SECRET);
  });

  it('without the option, a cursor-runner with no secret of its own is refused', async () => {
    const target = await start(undefined);
    const { callback, callbackUrl } = await runAsync(target);
    expect(callbackUrl).not.toContain('secret');
    expect(callback.headers['X-Webhook-Secret']).toBeUndefined();
    expect(callback.status).toBe(401);
  });

  it('with CURSOR_RUNNER_CALLBACK_SECRET_IN_URL=true, the URL carries it and such a cursor-runner is let in', async () => {
    const target = await start(undefined, { CURSOR_RUNNER_CALLBACK_SECRET_IN_URL: 'true' });
    const { callback, callbackUrl } = await runAsync(target);
    expect(callbackUrl).toBe(`${target.baseUrl}/cursor-runner/callback?secret=${SECRET}`);
    expect(callback.url).toBe(`${target.baseUrl}/cursor-runner/callback`);
    expect(callback.headers['X-Cursor-Runner-Secret']).toBe(SECRET);
    expect(callback.status).toBe(200);
  });
});
