import { request as httpRequest } from 'node:http';
import request from 'supertest';
import { finishedRunCallback, sendCallback } from './support/fakes/cursor-runner-server';
import { pollUntil } from './support/poll';
import { startTestApp, type TestApp } from './support/test-app';

const SECRET = 'body-limit-secret';
const CALLBACK_LIMIT = 4 * 1024 * 1024;
const CURSOR_RUNNER_HEADERS = {
  'User-Agent': 'cursor-runner/1.0',
  'X-Webhook-Secret': SECRET,
  'X-Cursor-Runner-Secret': SECRET,
};

/** A POST without Content-Length (chunked), as a streaming sender would make it. */
function postChunked(url: string, chunks: string[], headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers } }, (response) => {
      const parts: Buffer[] = [];
      response.on('data', (part: Buffer) => parts.push(part));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8') }));
    });
    outgoing.on('error', reject);
    const write = (index: number): void => {
      if (index === chunks.length || outgoing.destroyed) {
        outgoing.end();
        return;
      }
      outgoing.write(chunks[index], () => write(index + 1));
    };
    write(0);
  });
}

/**
 * The HTTP edge of `POST /cursor-runner/callback`: it takes bodies up to CALLBACK_BODY_LIMIT_BYTES
 * (whole agent outputs, larger than BODY_LIMIT_BYTES), every other route keeps BODY_LIMIT_BYTES,
 * and a callback refused anyway is logged at error level with its request id.
 */
describe('callback body limit', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ env: { WEBHOOK_SECRET: SECRET, CALLBACK_BODY_LIMIT_BYTES: String(CALLBACK_LIMIT) } });
  });
  afterAll(async () => {
    await app.close();
  });

  function refusals(): Record<string, unknown>[] {
    return app.logs.lines.filter((line) => line.level === 50 && String(line.msg).startsWith('Refused a callback'));
  }

  async function nextRefusal(before: number): Promise<Record<string, unknown>> {
    const { value } = await pollUntil(async () => refusals(), (found) => found.length > before, 5_000, 10);
    expect(value.length).toBe(before + 1);
    return value[before];
  }

  it('takes a callback over BODY_LIMIT_BYTES whole, as cursor-runner sends it', async () => {
    const output = `${'x"\\'.repeat(600_000)}end`;
    const body = finishedRunCallback('req-1764590100-0a0a0a0a', { stdout: output });
    const sent = await sendCallback(`${app.baseUrl}/cursor-runner/callback`, body, SECRET);
    expect(sent.bytes).toBeGreaterThan(app.config.http.bodyLimitBytes * 2);
    expect(sent.status).toBe(200);
    expect(JSON.parse(sent.answer)).toEqual({ received: true, message: 'Request not found' });
    expect(refusals()).toEqual([]);
  });

  it('keeps BODY_LIMIT_BYTES on every other route', async () => {
    const response = await request(app.baseUrl)
      .post('/cursor-runner/cursor/execute')
      .set('X-Admin-Secret', SECRET)
      .send({ prompt: 'x'.repeat(2 * 1024 * 1024) })
      .expect(413);
    expect(response.body.say).toBe(`Request body is too large: the limit is ${app.config.http.bodyLimitBytes} bytes.`);
  });

  it('refuses a callback over CALLBACK_BODY_LIMIT_BYTES with 413 and logs it with its request id', async () => {
    const before = refusals().length;
    const body = finishedRunCallback('req-1764590101-1b1b1b1b', { stdout: 'y'.repeat(CALLBACK_LIMIT + 10) });
    const sent = await sendCallback(`${app.baseUrl}/cursor-runner/callback`, body, SECRET);
    expect(sent.status).toBe(413);
    expect(JSON.parse(sent.answer)).toEqual({ error: `Request body is too large: the limit is ${CALLBACK_LIMIT} bytes.` });
    const logged = await nextRefusal(before);
    expect(logged).toMatchObject({
      context: 'CursorRunnerCallback',
      requestId: 'req-1764590101-1b1b1b1b',
      status: 413,
      declaredBytes: sent.bytes,
    });
    expect(String(logged.msg)).toContain('for request req-1764590101-1b1b1b1b');
  });

  it('finds the request id of an over-limit body sent without a length (chunked)', async () => {
    const before = refusals().length;
    const head = '{"success":true,"requestId":"req-1764590102-2c2c2c2c","output":"';
    const filler = Array.from({ length: 80 }, () => 'z'.repeat(64 * 1024));
    const answer = await postChunked(`${app.baseUrl}/cursor-runner/callback`, [head, ...filler, '"}'], CURSOR_RUNNER_HEADERS);
    expect(answer.status).toBe(413);
    const logged = await nextRefusal(before);
    expect(logged).toMatchObject({ requestId: 'req-1764590102-2c2c2c2c', status: 413 });
    expect(logged.declaredBytes).toBeUndefined();
  });

  it('logs an unparsable callback with its request id and answers 400', async () => {
    const before = refusals().length;
    const response = await request(app.baseUrl)
      .post('/cursor-runner/callback')
      .set(CURSOR_RUNNER_HEADERS)
      .set('Content-Type', 'application/json')
      .send('{"success":true,"requestId":"req-1764590103-3d3d3d3d","output":"cut off')
      .expect(400);
    expect(response.body).toEqual({ error: expect.any(String) });
    expect(await nextRefusal(before)).toMatchObject({ requestId: 'req-1764590103-3d3d3d3d', status: 400 });
  });

  it('refuses a broken callback without the secret with 401, reporting nothing, and says when no request id could be read', async () => {
    const before = refusals().length;
    await request(app.baseUrl)
      .post('/cursor-runner/callback')
      .set('Content-Type', 'application/json')
      .send('{"requestId":"req-1764590104-4e4e4e4e",')
      .expect(401, { error: 'Unauthorized' });

    await request(app.baseUrl)
      .post('/cursor-runner/callback')
      .set(CURSOR_RUNNER_HEADERS)
      .set('Content-Type', 'application/json')
      .send('{"requestId":"../../etc/passwd", "x": ')
      .expect(400);
    const unnamed = await nextRefusal(before);
    expect(unnamed.requestId).toBeUndefined();
    expect(String(unnamed.msg)).toContain('for request unknown');
  });

  it.each([
    ['a deeply nested body', () => `{"requestId":"req-1-a","output":${'['.repeat(5_000)}${']'.repeat(5_000)}}`],
    ['a numeric request id', () => JSON.stringify({ success: true, requestId: 12, output: 'o' })],
    ['an array as request id', () => JSON.stringify({ success: true, requestId: ['req-1-a'], output: 'o' })],
    ['an object as output', () => JSON.stringify({ success: true, requestId: 'req-1-a', output: { a: 1 }, exitCode: 'one' })],
    ['a string success and a huge exit code', () => JSON.stringify({ success: 'yes', requestId: 'req-1-a', exitCode: 1e308 })],
    ['a JSON array', () => JSON.stringify([{ requestId: 'req-1-a' }])],
    ['a JSON string', () => JSON.stringify('req-1-a')],
    ['null', () => 'null'],
    ['binary garbage', () => Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)).toString('latin1')],
    ['a huge request id', () => JSON.stringify({ success: true, requestId: 'r'.repeat(1_000_000) })],
  ])('never answers 5xx to %s', async (_case, body) => {
    const response = await request(app.baseUrl)
      .post('/cursor-runner/callback')
      .set(CURSOR_RUNNER_HEADERS)
      .set('Content-Type', 'application/json')
      .send(body());
    expect(response.status).toBeGreaterThanOrEqual(200);
    expect(response.status).toBeLessThan(500);
    expect(response.headers['content-type']).toMatch(/application\/json/);
  });
});
