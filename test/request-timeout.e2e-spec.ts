import { pollUntil } from './support/poll';
import { openRaw } from './support/raw-http';
import { startTestApp, type TestApp } from './support/test-app';

const REQUEST_TIMEOUT_MS = 1_500;
/** Node looks for late requests every second (the app's `connectionsCheckingInterval`). */
const CHECK_INTERVAL_MS = 1_000;

/**
 * HTTP_REQUEST_TIMEOUT_MS: a request whose headers or body arrive slower than that is answered 408
 * JSON and its connection closed. Fastify's default was no limit, so a client trickling a byte at a
 * time held a connection (and, at shutdown, a place among the requests in flight) for good.
 */
describe('HTTP_REQUEST_TIMEOUT_MS', () => {
  let app: TestApp;
  let port: number;

  beforeAll(async () => {
    app = await startTestApp({ env: { HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) } });
    port = Number(new URL(app.baseUrl).port);
  });
  afterAll(() => app.close());

  /** Writes `head`, then one byte of `trickle` every 200 ms until the connection closes; the answers and when they came. */
  async function trickle(head: string, trickled: string) {
    const started = Date.now();
    const connection = openRaw(port, 10_000);
    connection.send(head);
    let next = 0;
    const timer = setInterval(() => {
      if (next < trickled.length) connection.send(trickled[next++]);
    }, 200);
    try {
      const answers = await connection.answers;
      return { answers, elapsedMs: Date.now() - started };
    } finally {
      clearInterval(timer);
    }
  }

  const timedOut = {
    ok: false,
    say: 'The request did not arrive in time.',
    result: { error: 'Request Timeout' },
  };

  it.each([
    ['a body sent a byte at a time', 'POST /telegram/webhook HTTP/1.1\r\nHost: t\r\nX-Request-Id: trickled-body\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{"update_id":', ' '.repeat(300)],
    ['headers sent a byte at a time', 'GET /health/live HTTP/1.1\r\nHost: t\r\n', 'X-Slow: ' + 'a'.repeat(300)],
    ['a body to a path no route has', 'POST /no-such-route HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{', ' '.repeat(300)],
  ])('answers %s with 408 JSON and closes the connection within the timeout and one check', async (_what, head, trickled) => {
    const { answers, elapsedMs } = await trickle(head, trickled);
    expect(answers.map((answer) => [answer.status, answer.headers.connection])).toEqual([[408, 'close']]);
    expect(JSON.parse(answers[0].body)).toEqual(timedOut);
    expect(elapsedMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS);
    expect(elapsedMs).toBeLessThan(REQUEST_TIMEOUT_MS + CHECK_INTERVAL_MS + 1_000);
  });

  it.each([
    ['a GET route that ignores its body', 'GET /health/live HTTP/1.1\r\nHost: t\r\nContent-Length: 400\r\n\r\n', 200],
    ['a callback refused before its body is read', 'POST /cursor-runner/callback HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{', 401],
    ['an OPTIONS request with a chunked body', 'OPTIONS /telegram/webhook HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n', 405],
  ])('closes the connection of %s once its body is late, after the answer it already had', async (_what, head, status) => {
    const { answers, elapsedMs } = await trickle(head, head.includes('chunked') ? '1\r\na\r\n'.repeat(100) : ' '.repeat(300));
    expect(answers.map((answer) => answer.status)).toEqual([status]);
    expect(elapsedMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS);
    expect(elapsedMs).toBeLessThan(REQUEST_TIMEOUT_MS + CHECK_INTERVAL_MS + 1_000);
  });

  it('logs and counts a request whose body never arrived with the 408 it was answered, with no error line', async () => {
    const timedOutCount = async () => {
      const metrics = await fetch(`${app.baseUrl}/metrics`).then((response) => response.text());
      const count = /^http_request_duration_seconds_count\{[^}]*route="\/telegram\/webhook"[^}]*status_code="408"[^}]*\} (\d+)$/m.exec(metrics);
      return Number(count?.[1] ?? 0);
    };
    const countedBefore = await timedOutCount();
    await trickle(
      'POST /telegram/webhook HTTP/1.1\r\nHost: t\r\nX-Request-Id: never-arrived\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{',
      '',
    );
    const lines = () => app.logs.lines.filter((line) => JSON.stringify(line).includes('never-arrived'));
    await pollUntil(async () => lines(), (found) => found.length > 0, 2_000, 10);
    expect(lines().map((line) => [line.level, (line.res as { statusCode?: number }).statusCode])).toEqual([[40, 408]]);
    expect(await timedOutCount()).toBe(countedBefore + 1);
  });

  it('reports a callback whose body never arrived with the 408 it was answered, not as an aborted 400', async () => {
    const requestId = 'req-1764590100-5e5e5e5e';
    await trickle(
      'POST /cursor-runner/callback HTTP/1.1\r\nHost: t\r\nX-Webhook-Secret: test-webhook-secret\r\nContent-Type: application/json\r\n' +
        `Content-Length: 400\r\n\r\n{"requestId":"${requestId}","success":true,"output":"`,
      '',
    );
    const refusals = () => app.logs.lines.filter((line) => line.level === 50 && String(line.msg).startsWith('Refused a callback'));
    const { value } = await pollUntil(async () => refusals(), (found) => found.length > 0, 2_000, 10);
    expect(value.map((line) => line.msg)).toEqual([
      `Refused a callback from cursor-runner for request ${requestId} (408: The request did not arrive in time); ` +
        'cursor-runner does not send a result again, so this result is lost',
    ]);
  });

  it('answers a request whose body arrives slowly but within the timeout as usual', async () => {
    const body = '{"update_id":1}';
    const connection = openRaw(port, 10_000);
    connection.send(`POST /telegram/webhook HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    for (const part of [body.slice(0, 5), body.slice(5, 10), body.slice(10)]) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      connection.send(part);
    }
    const answers = await connection.answers;
    // The webhook without its secret: the route ran.
    expect(answers.map((answer) => answer.status)).toEqual([401]);
  });
});
