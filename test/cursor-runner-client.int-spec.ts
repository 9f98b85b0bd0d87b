import {
  CursorRunnerConnectionError,
  CursorRunnerHttpError,
  CursorRunnerTimeoutError,
  HttpCursorRunnerClient,
  type HttpCursorRunnerClientOptions,
} from '../apps/api/src/adapters/cursor-runner';
import { EXECUTE, EXECUTE_ASYNC, fileTreeRoute, startFakeCursorRunner } from './support/fakes/cursor-runner-server';
import type { FakeHttpServer } from './support/fakes/fake-http-server';
import { recordLogLines } from './support/log-lines';
import { CLOSED_PORT } from './support/redis-server';

const SECRET = 's3cret';
const CALLBACK_URL = 'http://app:3000/cursor-runner/callback?secret=s3cret';

describe('HttpCursorRunnerClient against a fake cursor-runner', () => {
  let fake: FakeHttpServer;
  const clients: HttpCursorRunnerClient[] = [];
  let logged: string[];

  function client(options: Partial<HttpCursorRunnerClientOptions> = {}): HttpCursorRunnerClient {
    const created = new HttpCursorRunnerClient({
      baseUrl: fake.url,
      timeoutMs: 10_000,
      webhookSecret: SECRET,
      callbackUrl: CALLBACK_URL,
      ...options,
    });
    clients.push(created);
    return created;
  }

  beforeEach(async () => {
    fake = await startFakeCursorRunner({ webhookSecret: SECRET });
    logged = recordLogLines(['log', 'warn']);
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    for (const created of clients.splice(0)) created.onApplicationShutdown();
    await fake.stop();
  });

  it('sends JSON with X-Webhook-Secret and the callback URL, and returns the acknowledgement', async () => {
    const reply = await client().executeAsync({ id: 'telegram-1-abc', repository: '', branchName: 'main', prompt: 'hi' });
    expect(reply).toEqual({
      success: true,
      message: 'Request accepted, processing asynchronously',
      requestId: 'telegram-1-abc',
      timestamp: expect.any(String),
    });
    const [sent] = fake.requests;
    expect(sent.method).toBe('POST');
    expect(sent.path).toBe('/cursor/execute/async');
    expect(sent.headers).toMatchObject({
      'content-type': 'application/json',
      accept: 'application/json',
      'x-webhook-secret': SECRET,
      connection: 'keep-alive',
    });
    expect(sent.body).toEqual({
      id: 'telegram-1-abc',
      repository: '',
      branchName: 'main',
      prompt: 'hi',
      callbackUrl: CALLBACK_URL,
    });
    expect(logged).toEqual([
      expect.stringMatching(/^log cursor-runner POST \/cursor\/execute\/async → 200 in \d+ ms \(request telegram-1-abc\)$/),
    ]);
    expect(logged.join('\n')).not.toContain(SECRET);
  });

  it('gets cursor-runner’s 401 as an HTTP error when the secrets disagree', async () => {
    const error = await client({ webhookSecret: 'other' }).executeAsync({ prompt: 'hi' }).catch((caught) => caught);
    expect(error).toBeInstanceOf(CursorRunnerHttpError);
    expect(error).toMatchObject({
      message: 'Unauthorized - invalid or missing webhook secret',
      status: 401,
      method: 'POST',
      path: '/cursor/execute/async',
    });
  });

  it('reuses one connection for sequential calls', async () => {
    const runner = client();
    for (let call = 0; call < 5; call += 1) await runner.execute({ prompt: `p${call}` });
    expect(fake.requests).toHaveLength(5);
    expect(fake.connectionCount).toBe(1);
  });

  it('opens one connection per concurrent call and reuses them afterwards', async () => {
    const runner = client();
    await Promise.all([1, 2, 3].map((call) => runner.execute({ prompt: `a${call}` })));
    await Promise.all([1, 2, 3].map((call) => runner.execute({ prompt: `b${call}` })));
    expect(fake.requests).toHaveLength(6);
    expect(fake.connectionCount).toBe(3);
  });

  it('sends a GET again on a new connection when a reused one turns out closed', async () => {
    const runner = client();
    await runner.execute({ prompt: 'first' });
    fake.enqueue(fileTreeRoute('docs'), { drop: true });
    expect(await runner.repositoryFiles('docs')).toEqual([]);
    expect(fake.requests.map((sent) => [sent.path, sent.socket])).toEqual([
      ['/cursor/execute', 1],
      ['/repositories/api/docs/files', 1],
      ['/repositories/api/docs/files', 2],
    ]);
  });

  it.each([
    ['execute', EXECUTE],
    ['executeAsync', EXECUTE_ASYNC],
  ] as const)('never sends a run twice: %s broken on a reused connection after cursor-runner read it fails instead', async (method, route) => {
    const runner = client();
    await runner.execute({ prompt: 'first' });
    // cursor-runner reads the whole request, then the connection breaks: it may be running it.
    fake.enqueue(route, { drop: true });
    const error = await runner[method]({ id: 'req-2', prompt: 'second' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CursorRunnerConnectionError);
    expect(error).toMatchObject({ code: 'ECONNRESET' });
    expect(fake.requests.map((sent) => sent.socket)).toEqual([1, 1]);
  });

  it('does not send again when a new connection is dropped', async () => {
    fake.enqueue(EXECUTE, { drop: true });
    const error = await client().execute({ prompt: 'p' }).catch((caught) => caught);
    expect(error).toBeInstanceOf(CursorRunnerConnectionError);
    expect(error.message).toBe('Failed to connect to cursor-runner: socket hang up');
    expect(error.code).toBe('ECONNRESET');
    expect(fake.requests).toHaveLength(1);
  });

  it('gives up after the timeout with a timeout error', async () => {
    fake.enqueue(EXECUTE_ASYNC, { delayMs: 60_000, body: { success: true } });
    const error = await client({ timeoutMs: 200 }).executeAsync({ prompt: 'p' }).catch((caught) => caught);
    expect(error).toBeInstanceOf(CursorRunnerTimeoutError);
    expect(error).toMatchObject({
      message: 'Request to cursor-runner timed out: no answer within 200 ms',
      timeoutMs: 200,
      path: '/cursor/execute/async',
    });
    expect(fake.requests).toHaveLength(1);
    expect(logged).toEqual([
      expect.stringMatching(
        /^warn cursor-runner POST \/cursor\/execute\/async failed after \d+ ms \(request req-\d+-[0-9a-f]{8}\): CursorRunnerTimeoutError: Request to cursor-runner timed out: no answer within 200 ms$/,
      ),
    ]);
  });

  it('reports a refused connection as a connection error with its code', async () => {
    const port = CLOSED_PORT;
    const error = await client({ baseUrl: `http://127.0.0.1:${port}` }).execute({ prompt: 'p' }).catch((caught) => caught);
    expect(error).toBeInstanceOf(CursorRunnerConnectionError);
    expect(error).toMatchObject({
      message: `Failed to connect to cursor-runner: connect ECONNREFUSED 127.0.0.1:${port}`,
      code: 'ECONNREFUSED',
    });
  });
});
