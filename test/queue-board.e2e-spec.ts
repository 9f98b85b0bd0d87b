import { randomBytes, randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM } from './support/chromium';
import { pollUntil } from './support/poll';
import { removeRedisKeys } from './support/redis-keys';
import { startFaultyRedis, type FaultyRedis } from './support/redis-server';
import { startTestApp, testRedisUrl, type TestApp } from './support/test-app';

const SECRET = 'test-webhook-secret';
const QUEUE = 'telegram-updates';

async function get(app: TestApp, path: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(app.baseUrl + path, { headers, redirect: 'manual' });
}

function logIn(app: TestApp, body: string, contentType = 'application/x-www-form-urlencoded'): Promise<Response> {
  return fetch(`${app.baseUrl}/admin/queues/login`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body,
    redirect: 'manual',
  });
}

describe('Bull Board at /admin/queues with Redis', () => {
  const prefix = `bull:board-${randomUUID()}`;
  let app: TestApp;
  let producer: Queue;

  beforeAll(async () => {
    app = await startTestApp({ env: { REDIS_URL: testRedisUrl(), QUEUE_PREFIX: prefix } });
    producer = new Queue(QUEUE, { connection: { url: testRedisUrl() }, prefix });
  });
  afterAll(async () => {
    await producer.close();
    await app.close();
    await removeRedisKeys(testRedisUrl(), prefix);
  });

  it.each(['/admin/queues', '/admin/queues/', '/admin/queues/api/queues', '/admin/queues/static/js/main.js', '/admin/queues/no-such-page', '/admin/queues/api/nope'])(
    'answers %s with 401 JSON without the admin secret',
    async (path) => {
      const answer = await get(app, path);
      expect(answer.status).toBe(401);
      expect(await answer.json()).toEqual({
        ok: false,
        say: 'The admin secret is missing: send it in the X-Admin-Secret header, or log in at /admin/queues/login.',
        result: { error: 'Unauthorized' },
      });
    },
  );

  it('answers 401 JSON for a wrong secret in the header, and for a session cookie it did not sign: the secret itself included', async () => {
    const wrongSecret = await get(app, '/admin/queues/api/queues', { 'x-admin-secret': 'nope' });
    expect(wrongSecret.status).toBe(401);
    expect(await wrongSecret.json()).toMatchObject({ say: 'The admin secret is wrong.' });
    for (const cookie of ['jarek_admin_session=nope', `jarek_admin_session=${SECRET}`, `jarek_admin_session=99999999999.${'0'.repeat(64)}`]) {
      const answer = await get(app, '/admin/queues/api/queues', { cookie });
      expect(answer.status).toBe(401);
      expect(await answer.json()).toMatchObject({ say: 'The session is not valid or has ended: log in again at /admin/queues/login.' });
    }
  });

  it('answers a path under the dashboard that does not exist 404 JSON, once the secret is given', async () => {
    for (const path of ['/admin/queues/no-such-page', '/admin/queues/api/nope']) {
      const answer = await get(app, path, { 'x-admin-secret': SECRET });
      expect({ path, status: answer.status, body: await answer.json() }).toEqual({
        path,
        status: 404,
        body: { ok: false, say: "Sorry, I couldn't find that resource.", result: { error: 'Not Found' } },
      });
    }
  });

  it('lists every queue of the app with its counts for the X-Admin-Secret header', async () => {
    const answer = await get(app, '/admin/queues/api/queues', { 'x-admin-secret': SECRET });
    expect(answer.status).toBe(200);
    const { queues } = (await answer.json()) as { queues: { name: string; counts: Record<string, number> }[] };
    expect(queues.map((queue) => queue.name).sort()).toEqual(['result-deliveries', QUEUE]);
    for (const queue of queues) expect(queue.counts).toMatchObject({ failed: expect.any(Number), completed: expect.any(Number) });
  });

  it('logs in with a posted form: a signed session cookie for /admin/queues, not the secret, and a redirect to the board', async () => {
    const answer = await logIn(app, `admin_secret=${SECRET}`);
    expect(answer.status).toBe(303);
    expect(answer.headers.get('location')).toBe('/admin/queues/');
    const cookie = answer.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^jarek_admin_session=\d+\.[0-9a-f]{64}; Path=\/admin\/queues; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    expect(cookie).not.toContain(SECRET);
    const board = await get(app, '/admin/queues/', { cookie: cookie.split(';')[0] });
    expect(board.status).toBe(200);
    expect(await board.text()).toContain('<div id="root">');
  });

  it('marks the session cookie Secure when the request came to the proxy in front over HTTPS', async () => {
    const answer = await fetch(`${app.baseUrl}/admin/queues/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-proto': 'https' },
      body: `admin_secret=${SECRET}`,
      redirect: 'manual',
    });
    expect(answer.status).toBe(303);
    expect(answer.headers.get('set-cookie')).toMatch(/; Secure$/);
  });

  it('refuses a wrong secret with 401 and a missing one with 400, setting no cookie', async () => {
    const wrong = await logIn(app, 'admin_secret=guess');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    const missing = await logIn(app, 'other=1');
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ say: 'Send the admin secret as admin_secret in a form or JSON body.' });
  });

  it('never writes the secret into a log line', async () => {
    await logIn(app, `admin_secret=${SECRET}`);
    await get(app, '/admin/queues/api/queues', { 'x-admin-secret': SECRET });
    expect(app.logs.raw.filter((line) => line.includes('/admin/queues')).length).toBeGreaterThan(0);
    expect(app.logs.raw.filter((line) => line.includes(SECRET))).toEqual([]);
  });

  it('answers a NUL character in the API query, path or body with 400 JSON saying where (Bull Board itself answered 500)', async () => {
    const call = (method: string, path: string, body?: unknown) =>
      fetch(`${app.baseUrl}/admin/queues/api${path}`, {
        method,
        headers: { 'x-admin-secret': SECRET, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const refusals: [Response, string][] = [
      [await call('GET', '/queues?status=%00'), 'the query (status)'],
      [await call('GET', `/queues?activeQueue=${QUEUE}&status=latest%00`), 'the query (status)'],
      [await call('GET', '/queues/%00/jobs'), 'the path (queueName)'],
      [await call('PUT', `/queues/${QUEUE}/obliterate`, { force: '\u0000' }), 'the body (force)'],
      [await call('PUT', `/queues/${QUEUE}/obliterate`, { force: { nested: ['x\u0000'] } }), 'the body (force)'],
    ];
    for (const [answer, where] of refusals) {
      expect({ status: answer.status, body: await answer.json() }).toEqual({
        status: 400,
        body: { ok: false, say: `The queue dashboard takes no NUL character (\\u0000, %00) in ${where}.`, result: { error: 'Bad Request' } },
      });
    }
    // The dashboard page itself refuses it the same way, and the OpenAPI document, checked when the app closes, says so.
    const page = await fetch(`${app.baseUrl}/admin/queues?status=%00`, { headers: { 'x-admin-secret': SECRET } });
    expect({ status: page.status, body: await page.json() }).toMatchObject({ status: 400, body: { say: expect.stringContaining('the query (status)') } });
    // A job's data may hold any string: it reaches Bull Board, which finds no such job.
    const update = await call('PATCH', `/queues/${QUEUE}/no-such-job/update-data`, { jobData: { text: 'a\u0000b' } });
    expect({ status: update.status, body: await update.json() }).toMatchObject({ status: 404, body: { result: { key: 'ERRORS.JOB_NOT_FOUND' } } });
  });

  it('answers hostile login bodies with a documented 4xx, never 5xx', async () => {
    const contentTypes = ['application/x-www-form-urlencoded', 'application/json', 'text/plain', 'multipart/form-data'];
    const bodies = [
      '',
      '%',
      'admin_secret=%E0%A4%A',
      'admin_secret[]=a&admin_secret[]=b',
      '{"admin_secret":["x"]}',
      '{"admin_secret":null}',
      'a'.repeat(5_000),
      ...Array.from({ length: 40 }, () => randomBytes(1 + Math.floor(Math.random() * 64)).toString('latin1')),
    ];
    const document = (await (await fetch(`${app.baseUrl}/openapi.json`)).json()) as { paths: Record<string, { post?: { responses: object } }> };
    const documented = Object.keys(document.paths['/admin/queues/login'].post?.responses ?? {}).map(Number);
    const notDocumentedClientErrors: { contentType: string; body: string; status: number }[] = [];
    for (const contentType of contentTypes) {
      for (const body of [...bodies, 'a'.repeat(1_100_000)]) {
        const { status } = await logIn(app, body, contentType);
        if (status < 400 || status >= 500 || !documented.includes(status)) notDocumentedClientErrors.push({ contentType, body: body.slice(0, 64), status });
      }
    }
    expect(notDocumentedClientErrors).toEqual([]);
  });

  it('in headless Chromium: logs in, sees the queue with its counts and opens a failed job', async () => {
    // A job without the data the worker expects fails its only attempt.
    const job = await producer.add(QUEUE, { broken: true }, { attempts: 1 });
    await pollUntil(() => producer.getFailedCount(), (failed) => failed >= 1, 10_000);
    expect(await job.getState()).toBe('failed');

    let browser: Browser | undefined;
    try {
      browser = await chromium.launch(CHROMIUM);
      const page = await browser.newPage();
      page.setDefaultTimeout(10_000);
      // Only the app: the board's page also names a web font host, which a test never reaches.
      await page.route((url) => !url.href.startsWith(app.baseUrl), (route) => route.abort());
      await page.goto(`${app.baseUrl}/admin/queues/login`);
      await page.fill('input[name="admin_secret"]', SECRET);
      await Promise.all([page.waitForURL(`${app.baseUrl}/admin/queues/`), page.click('button[type="submit"]')]);

      const overview = await pollUntil(() => page.innerText('body'), (text) => /1 Job/.test(text), 10_000);
      expect(overview.value).toMatch(new RegExp(`${QUEUE}\\s+FAILED\\s+1\\s+1 Job`));

      await page.locator(`a[title="${QUEUE}"]`).last().click();
      await page.waitForURL(`${app.baseUrl}/admin/queues/queue/${QUEUE}`);
      await page.getByRole('link', { name: `#${job.id}` }).click();
      await page.waitForURL(`${app.baseUrl}/admin/queues/queue/${QUEUE}/${job.id}`);
      await page.getByText("Cannot destructure property 'update' of 'job.data'").first().waitFor();
      await page.getByText('Data', { exact: true }).click();
      await page.getByText('broken').first().waitFor();
    } finally {
      await browser?.close();
    }
  }, 60_000);

  // Last: the promoted job runs and fails (its data is not an update), which the Chromium test above counts.
  it("answers an action BullMQ refuses for the job's state with 409 JSON, not 500", async () => {
    const job = await producer.add(QUEUE, { refusal: true }, { delay: 60_000 });
    const promote = (id: string) =>
      fetch(`${app.baseUrl}/admin/queues/api/queues/${QUEUE}/${id}/promote`, { method: 'PUT', headers: { 'x-admin-secret': SECRET } });
    expect((await promote(String(job.id))).status).toBe(204);
    const again = await promote(String(job.id));
    expect({ status: again.status, body: await again.json() }).toEqual({
      status: 409,
      body: { ok: false, say: `Job ${job.id} is not in the delayed state.`, result: { error: 'Conflict' } },
    });
  });
});

/** What a request needing Redis may take while Redis hangs: REDIS_COMMAND_TIMEOUT_MS's default (1 s) plus 1 s. */
const ANSWER_BUDGET_MS = 2_000;

describe('Bull Board while Redis is frozen or down', () => {
  let redis: FaultyRedis;
  let app: TestApp;

  const timedCall = async (method: string, path: string) => {
    const started = Date.now();
    const answer = await fetch(`${app.baseUrl}/admin/queues/api${path}`, {
      method,
      headers: { 'x-admin-secret': SECRET },
      signal: AbortSignal.timeout(10_000),
    });
    return { status: answer.status, body: await answer.json(), elapsedMs: Date.now() - started };
  };
  const unanswered = {
    status: 503,
    body: {
      ok: false,
      say:
        'Redis could not be reached or did not answer in time, so the queue dashboard could not read the queues or tell whether a change it sent was made ' +
        '(one sent may still be made when Redis answers). Look again shortly.',
      result: { error: 'Service Unavailable' },
    },
  };

  beforeAll(async () => {
    redis = await startFaultyRedis();
    app = await startTestApp({ env: { REDIS_URL: redis.url } });
  });
  afterEach(() => redis.thaw());
  afterAll(async () => {
    await app?.close();
    await redis?.stop();
  });

  it('answers its API 503 JSON within the budget while Redis is frozen, and 200 again after SIGCONT', async () => {
    expect((await timedCall('GET', '/queues')).status).toBe(200);
    redis.freeze();
    for (const [method, path] of [
      ['GET', '/queues'],
      ['GET', `/queues?activeQueue=${QUEUE}&status=failed&page=1`],
      ['PUT', `/queues/${QUEUE}/retry/failed`],
    ]) {
      const { elapsedMs, ...answer } = await timedCall(method, path);
      expect(answer).toEqual(unanswered);
      expect(elapsedMs).toBeLessThanOrEqual(ANSWER_BUDGET_MS);
    }
    redis.thaw();
    const { value: back } = await pollUntil(() => timedCall('GET', '/queues'), (answer) => answer.status === 200, 5_000, 100);
    expect(back.body).toMatchObject({ queues: expect.any(Array) });
  });

  it('answers 503 at once while Redis is down, and 200 once it is back', async () => {
    await redis.kill();
    const { elapsedMs, ...answer } = await timedCall('GET', '/queues');
    expect(answer).toEqual(unanswered);
    expect(elapsedMs).toBeLessThan(ANSWER_BUDGET_MS);
    await redis.restart();
    const { value: back } = await pollUntil(() => timedCall('GET', '/queues'), (answer) => answer.status === 200, 10_000, 100);
    expect(back.body).toMatchObject({ queues: expect.any(Array) });
  });
});

describe('/admin/queues in the embedded mode (no Redis)', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  it('answers with the secret 404 JSON saying the dashboard is not mounted and why', async () => {
    for (const path of ['/admin/queues', '/admin/queues/queue/telegram-updates', '/admin/queues/api/queues']) {
      const answer = await get(app, path, { 'x-admin-secret': SECRET });
      expect(answer.status).toBe(404);
      expect(await answer.json()).toEqual({
        ok: false,
        say: expect.stringMatching(/^The queue dashboard is not mounted: this instance runs without Redis \(embedded mode\)/),
        result: { error: 'Not Found' },
      });
    }
  });

  it('still needs the secret there', async () => {
    expect((await get(app, '/admin/queues')).status).toBe(401);
  });
});
