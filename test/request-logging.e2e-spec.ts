import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Controller, Get, HttpException, HttpStatus, Module, ServiceUnavailableException } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import fc from 'fast-check';
import pino from 'pino';
import request from 'supertest';
import { HttpCached } from '@app/cache';
import { installAccessLog } from '@app/logging';
import { HttpCacheInterceptor } from '../libs/cache/src/http/http-cache.interceptor';
import { pollUntil } from './support/poll';
import { leaveWhileHeld } from './support/raw-http';
import { LogCapture, startTestApp, type TestApp } from './support/test-app';

/** The held route's state: how many requests entered it, and how to let the one it holds answer. */
const heldRoute = { entered: 0, release: (): void => undefined };
/** How many answers the counted route has given. */
const countedRoute = { answered: 0 };

@Controller('log-fixtures')
class LogFixturesController {
  @Get('upstream-down')
  upstreamDown() {
    throw new HttpException({ ok: false, error: 'upstream answered 500' }, HttpStatus.BAD_GATEWAY);
  }

  @Get('unavailable')
  unavailable() {
    throw new ServiceUnavailableException();
  }

  @Get('early')
  @HttpCached({ scope: 'public', ttl: '1m', earlyHits: true })
  early() {
    return { answer: 42 };
  }

  /** More than loopback's socket buffers hold, so a client that stops reading leaves the answer unsent. */
  @Get('large')
  large() {
    return 'x'.repeat(64 * 1024 * 1024);
  }

  /** Answers at once, and counts it: a request whose answer the test waits for. */
  @Get('counted')
  counted() {
    countedRoute.answered += 1;
    return { counted: true };
  }

  /** Answers when the test releases it: a request still unanswered when its client leaves. */
  @Get('held')
  async held() {
    heldRoute.entered += 1;
    await new Promise<void>((resolve) => (heldRoute.release = resolve));
    return { released: true };
  }
}

@Module({ controllers: [LogFixturesController] })
class LogFixturesModule {}

type LogLine = Record<string, unknown> & { req?: { id?: string; method?: string; path?: string }; res?: { statusCode?: number } };

/** Every log line that mentions the request id, in any field. */
function linesOf(app: TestApp, requestId: string): LogLine[] {
  return app.logs.raw.filter((raw) => raw.includes(requestId)).map((raw) => JSON.parse(raw) as LogLine);
}

/** A GET over `agent`'s one kept-alive connection; resolves with the answer's remote port, to tell connections apart. */
function getOver(agent: http.Agent, url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const sent = http.get(url, { agent, headers }, (answer) => {
      answer.resume();
      answer.on('end', () => resolve(sent.socket!.localPort!));
    });
    sent.on('error', reject);
  });
}

/** An agent whose requests go over one kept-alive connection from `localAddress` (any 127.x.y.z is loopback on Linux). */
const oneConnectionFrom = (localAddress: string) => new http.Agent({ keepAlive: true, maxSockets: 1, localAddress });

describe('request logging', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ extraModules: [LogFixturesModule], env: { CORS_ENABLED: 'true', CORS_ORIGIN: 'https://ops.example' } });
  });
  afterAll(() => app.close());
  afterEach(() => jest.restoreAllMocks());

  describe('credential query parameters are redacted in every log line', () => {
    it.each([
      ['secret', 'secret=VALUE-secret'],
      ['secret_token', 'secret_token=VALUE-secret-token'],
      ['admin_secret', 'admin_secret=VALUE-admin'],
      ['token', 'token=VALUE-token'],
      ['api_key', 'api_key=VALUE-api-key'],
      ['access_token', 'access_token=VALUE-access'],
      ['an array form', 'secret[]=VALUE-array-1&secret[]=VALUE-array-2'],
      ['an indexed form', 'token[0]=VALUE-indexed'],
      ['a percent-encoded array form', 'secret%5B%5D=VALUE-encoded-array'],
      ['a percent-encoded name', '%73ecret=VALUE-encoded-name'],
      ['another case', 'Access_Token=VALUE-case'],
    ])('%s', async (form, query) => {
      const requestId = `redact-${form.replace(/\W+/g, '-')}`;
      await request(app.baseUrl).get(`/health?${query}&keep=1`).set('X-Request-Id', requestId).expect(200);
      const [line, ...others] = linesOf(app, requestId);
      expect(others).toEqual([]);
      expect(line.req?.path).toContain('=%5BRedacted%5D');
      expect(line.req?.path).toContain('keep=1');
      const raw = app.logs.raw.join('\n');
      for (const value of query.match(/VALUE-[\w-]+/g) ?? []) expect(raw).not.toContain(value);
    });

    it('on the routes that take secrets in the query: set_webhook and the cursor-runner callback', async () => {
      await request(app.baseUrl).post('/telegram/set_webhook?secret_token=TG-SECRET-1').set('X-Request-Id', 'redact-set-webhook').send({});
      await request(app.baseUrl)
        .post('/cursor-runner/callback?secret[]=RUNNER-SECRET-2')
        .set('X-Request-Id', 'redact-callback')
        .send({ success: true, requestId: 'r-1' })
        .expect(401);
      expect(linesOf(app, 'redact-set-webhook')[0].req?.path).toBe('/telegram/set_webhook?secret_token=%5BRedacted%5D');
      expect(linesOf(app, 'redact-callback')[0].req?.path).toBe('/cursor-runner/callback?secret[]=%5BRedacted%5D');
      const raw = app.logs.raw.join('\n');
      expect(raw).not.toContain('TG-SECRET-1');
      expect(raw).not.toContain('RUNNER-SECRET-2');
    });

    it('never writes request headers, credentials or not', async () => {
      await request(app.baseUrl).get('/health').set({ 'X-Request-Id': 'no-headers', authorization: 'Bearer HEADER-SECRET' }).expect(200);
      const [line] = linesOf(app, 'no-headers');
      expect(line.req).toEqual({ id: 'no-headers', method: 'GET', path: '/health', remoteAddress: '127.0.0.1' });
      expect(app.logs.raw.join('\n')).not.toContain('HEADER-SECRET');
    });
  });

  it('logs a 502 or 503 answer as one error line, without a stack', async () => {
    await request(app.baseUrl).get('/log-fixtures/upstream-down').set('X-Request-Id', 'rid-bad-gateway').expect(502);
    await request(app.baseUrl).get('/log-fixtures/unavailable').set('X-Request-Id', 'rid-unavailable').expect(503);
    for (const [requestId, status, path] of [
      ['rid-bad-gateway', 502, '/log-fixtures/upstream-down'],
      ['rid-unavailable', 503, '/log-fixtures/unavailable'],
    ] as const) {
      const lines = linesOf(app, requestId);
      expect(lines).toEqual([
        {
          level: 50,
          time: expect.any(Number),
          service: app.config.app.name,
          req: { id: requestId, method: 'GET', path, remoteAddress: '127.0.0.1' },
          res: { statusCode: status },
          durationMs: expect.any(Number),
          msg: expect.stringMatching(new RegExp(`^GET ${path} ${status} \\d+ms$`)),
        },
      ]);
    }
    expect(app.logs.raw.join('\n')).not.toMatch(/"stack"|failed with status code/);
  });

  it('does not log the probe routes', async () => {
    const before = app.logs.lines.length;
    for (let probe = 0; probe < 3; probe += 1) {
      await request(app.baseUrl).get('/health/live').expect(200);
      await request(app.baseUrl).get('/health/ready?verbose=1').expect(200);
    }
    await request(app.baseUrl).get('/health').set('X-Request-Id', 'after-probes').expect(200);
    expect(app.logs.lines.slice(before).map((line) => (line as LogLine).req?.path)).toEqual(['/health']);
  });

  it('logs a path under /health/ that is not a probe', async () => {
    await request(app.baseUrl).get('/health/liveness').set('X-Request-Id', 'not-a-probe').expect(404);
    await request(app.baseUrl).get('/health/').set('X-Request-Id', 'other-than-a-probe').expect(404);
    expect(linesOf(app, 'not-a-probe')).toEqual([expect.objectContaining({ req: expect.objectContaining({ path: '/health/liveness' }), res: { statusCode: 404 } })]);
    expect(linesOf(app, 'other-than-a-probe')).toEqual([expect.objectContaining({ req: expect.objectContaining({ path: '/health/' }) })]);
  });

  it("writes each request's client address, from connections kept alive from two addresses in turn", async () => {
    const agents = { '127.0.0.2': oneConnectionFrom('127.0.0.2'), '127.0.0.3': oneConnectionFrom('127.0.0.3') };
    try {
      const ports = new Map<string, Set<number>>();
      for (let turn = 0; turn < 6; turn += 1) {
        const address = turn % 2 === 0 ? '127.0.0.2' : '127.0.0.3';
        // Without a trusted proxy the header a client sends names no one: the line has the connection's address.
        const headers = { 'X-Request-Id': `from-${address}-${turn}`, 'X-Forwarded-For': '203.0.113.66' };
        const port = await getOver(agents[address], `${app.baseUrl}/health`, headers);
        ports.set(address, (ports.get(address) ?? new Set()).add(port));
      }

      expect([...ports.values()].map((used) => used.size)).toEqual([1, 1]);
      for (let turn = 0; turn < 6; turn += 1) {
        const address = turn % 2 === 0 ? '127.0.0.2' : '127.0.0.3';
        expect(linesOf(app, `from-${address}-${turn}`)).toEqual([expect.objectContaining({ req: expect.objectContaining({ remoteAddress: address }) })]);
      }
    } finally {
      Object.values(agents).forEach((agent) => agent.destroy());
    }
  });

  it("logs an answer whose client left before it was sent, with the client's address, on a connection's first request too", async () => {
    const port = Number(new URL(app.baseUrl).port);
    const lineOf = async (requestId: string) =>
      (await pollUntil(async () => linesOf(app, requestId), (lines) => lines.length > 0, 10_000)).value;
    // A raw connection that counts the answers begun on it (their status lines; the large body is all `x`).
    const connect = async () => {
      const socket = net.connect(port, '127.0.0.1');
      let begun = 0;
      let tail = '';
      const waiting = new Set<() => void>();
      socket.on('data', (chunk: Buffer) => {
        // The tail keeps a status line split between two chunks; shorter than one, it is never counted twice.
        const text = tail + chunk.toString('latin1');
        begun += text.split('HTTP/1.1 ').length - 1;
        tail = text.slice(-8);
        for (const check of waiting) check();
      });
      await new Promise((resolve) => socket.once('connect', resolve));
      const answersBegun = (count: number) =>
        new Promise<void>((resolve) => {
          const check = () => {
            if (begun < count) return;
            waiting.delete(check);
            resolve();
          };
          waiting.add(check);
          check();
        });
      return { socket, answersBegun };
    };
    const [first, second] = await Promise.all([connect(), connect()]);
    const [fresh, again] = [first.socket, second.socket];
    try {
      // A fresh connection whose client leaves during its first answer: no line was written for it before.
      fresh.write('GET /log-fixtures/large HTTP/1.1\r\nHost: test\r\nX-Request-Id: gone-first\r\n\r\n');
      await first.answersBegun(1);
      fresh.destroy();
      expect(await lineOf('gone-first')).toEqual([
        expect.objectContaining({ req: { id: 'gone-first', method: 'GET', path: '/log-fixtures/large', remoteAddress: '127.0.0.1' } }),
      ]);

      // A kept-alive connection whose first answer was logged with its address, then left during the next.
      again.write('GET /health HTTP/1.1\r\nHost: test\r\nX-Request-Id: before-leaving\r\n\r\n');
      expect(await lineOf('before-leaving')).toEqual([expect.objectContaining({ req: expect.objectContaining({ remoteAddress: '127.0.0.1' }) })]);
      again.write('GET /log-fixtures/large HTTP/1.1\r\nHost: test\r\nX-Request-Id: gone-later\r\n\r\n');
      await second.answersBegun(2);
      again.destroy();
      expect(await lineOf('gone-later')).toEqual([
        expect.objectContaining({ req: { id: 'gone-later', method: 'GET', path: '/log-fixtures/large', remoteAddress: '127.0.0.1' } }),
      ]);
      await request(app.baseUrl).get('/health').expect(200);
    } finally {
      fresh.destroy();
      again.destroy();
    }
  });

  it('logs and counts a request whose client left before it was answered once, as 499, and not again when the route answers', async () => {
    const port = Number(new URL(app.baseUrl).port);
    try {
      await leaveWhileHeld(port, 'GET /log-fixtures/held HTTP/1.1\r\nHost: test\r\nX-Request-Id: left-unanswered\r\n\r\n', () => heldRoute.entered);
      const { value: lines } = await pollUntil(async () => linesOf(app, 'left-unanswered'), (found) => found.length > 0, 5_000);
      // Its connection's first request, and the client is gone: the address was read as the connection opened.
      expect(lines).toEqual([
        expect.objectContaining({
          level: 40,
          req: { id: 'left-unanswered', method: 'GET', path: '/log-fixtures/held', remoteAddress: '127.0.0.1' },
          res: { statusCode: 499 },
          msg: expect.stringMatching(/^GET \/log-fixtures\/held 499 \d+ms$/),
        }),
      ]);
    } finally {
      heldRoute.release();
    }

    // The route answers to a connection already closed; a request answered after that has had its line
    // written, so the held one's answer had its turn to add a second line.
    await request(app.baseUrl).get('/health').set('X-Request-Id', 'health-after-the-held-one').expect(200);
    await pollUntil(async () => linesOf(app, 'health-after-the-held-one'), (found) => found.length > 0, 5_000);
    expect(linesOf(app, 'left-unanswered')).toHaveLength(1);
    const metrics = await request(app.baseUrl).get('/metrics').expect(200);
    const heldCounts = metrics.text.split('\n').filter((line) => line.startsWith('http_request_duration_seconds_count{') && line.includes('route="/log-fixtures/held"'));
    expect(heldCounts).toEqual([expect.stringMatching(/[{,]status_code="499"[,}].* 1$/)]);
  });

  it('logs and counts a request pipelined behind one whose client left once, as 499, though the route had answered it', async () => {
    const [held, answered] = [heldRoute.entered, countedRoute.answered];
    const socket = net.connect(Number(new URL(app.baseUrl).port), '127.0.0.1');
    try {
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write(
        'GET /log-fixtures/held HTTP/1.1\r\nHost: test\r\nX-Request-Id: piped-held\r\n\r\n' +
          'GET /log-fixtures/counted HTTP/1.1\r\nHost: test\r\nX-Request-Id: piped-behind\r\n\r\n',
      );
      // Node holds the second answer until the first has been sent, which it never is.
      await pollUntil(async () => heldRoute.entered > held && countedRoute.answered > answered, (both) => both, 5_000, 5);
      socket.destroy();
      const { value: lines } = await pollUntil(
        async () => [...linesOf(app, 'piped-held'), ...linesOf(app, 'piped-behind')],
        (found) => found.length >= 2,
        5_000,
      );
      expect(lines.map((line) => [line.req?.id, line.res?.statusCode, line.level])).toEqual([
        ['piped-held', 499, 40],
        ['piped-behind', 499, 40],
      ]);
    } finally {
      socket.destroy();
      heldRoute.release();
    }

    await request(app.baseUrl).get('/health').set('X-Request-Id', 'health-after-the-piped-ones').expect(200);
    await pollUntil(async () => linesOf(app, 'health-after-the-piped-ones'), (found) => found.length > 0, 5_000);
    expect([linesOf(app, 'piped-held'), linesOf(app, 'piped-behind')].map((lines) => lines.length)).toEqual([1, 1]);
    const metrics = await request(app.baseUrl).get('/metrics').expect(200);
    expect(metrics.text).toMatch(/^http_request_duration_seconds_count\{[^}]*route="\/log-fixtures\/counted"[^}]*status_code="499"[^}]*\} 1$/m);
  });

  it('logs pipelined requests answered in turn once each, and not again when their connection closes', async () => {
    const socket = net.connect(Number(new URL(app.baseUrl).port), '127.0.0.1');
    try {
      await new Promise((resolve) => socket.once('connect', resolve));
      let received = '';
      const bothAnswered = new Promise<void>((resolve) =>
        socket.on('data', (chunk: Buffer) => {
          received += chunk.toString('latin1');
          if (received.split('HTTP/1.1 200').length - 1 === 2 && received.endsWith('}')) resolve();
        }),
      );
      socket.write(
        'GET /log-fixtures/counted HTTP/1.1\r\nHost: test\r\nX-Request-Id: piped-first\r\n\r\n' +
          'GET /log-fixtures/counted HTTP/1.1\r\nHost: test\r\nX-Request-Id: piped-second\r\n\r\n',
      );
      await bothAnswered;
    } finally {
      socket.destroy();
    }

    await request(app.baseUrl).get('/health').set('X-Request-Id', 'health-after-the-answered-piped-ones').expect(200);
    await pollUntil(async () => linesOf(app, 'health-after-the-answered-piped-ones'), (found) => found.length > 0, 5_000);
    expect([...linesOf(app, 'piped-first'), ...linesOf(app, 'piped-second')].map((line) => [line.req?.id, line.res?.statusCode])).toEqual([
      ['piped-first', 200],
      ['piped-second', 200],
    ]);
  });

  it('writes each answer on one kept-alive connection as it was, when method, path, status and level change from one to the next (property)', async () => {
    // The writer keeps the pieces it made for the last level, method, address and status: a sequence
    // mixing them on one connection checks, in the running app, that no piece outlives its value.
    const agent = oneConnectionFrom('127.0.0.1');
    const port = Number(new URL(app.baseUrl).port);
    // The path as given, byte for byte: a URL string would be normalised (quotes encoded, `\` made `/`). A raw
    // non-ASCII byte is left out: Node's parser refuses it before any route or log line (platform-errors.ts).
    const answer = (method: string, path: string, requestId: string) =>
      new Promise<number>((resolve, reject) => {
        const sent = http.request({ host: '127.0.0.1', port, path, method, agent, headers: { 'X-Request-Id': requestId } }, (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode!));
        });
        sent.on('error', reject);
        sent.end();
      });
    const pathPart = fc.constantFrom('/health', '/log-fixtures/early', '/log-fixtures/unavailable', '/no/such/route', '/a"b\\c', '/%F0%9F%98%80', '/health?x="1"', `/${'p'.repeat(3000)}`);
    let sequence = 0;
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.record({ method: fc.constantFrom('GET', 'HEAD', 'DELETE'), path: pathPart }), { minLength: 2, maxLength: 8 }), async (requests) => {
          const answered: { id: string; method: string; path: string; statusCode: number }[] = [];
          for (const { method, path } of requests) {
            const id = `kept-${(sequence += 1)}`;
            answered.push({ id, method, path, statusCode: await answer(method, path, id) });
          }
          for (const { id, method, path, statusCode } of answered) {
            const [line] = (await pollUntil(async () => linesOf(app, id), (lines) => lines.length > 0, 10_000)).value;
            expect(line).toMatchObject({
              level: statusCode >= 500 ? 50 : statusCode >= 400 ? 40 : 30,
              req: { id, method, path, remoteAddress: '127.0.0.1' },
              res: { statusCode },
              msg: `${method} ${path} ${statusCode} ${String(line.durationMs)}ms`,
            });
          }
        }),
        { numRuns: 25 },
      );
    } finally {
      agent.destroy();
    }
  });

  it('answers an early hit with the request id, CORS headers and its access-log line', async () => {
    const origin = { Origin: 'https://ops.example' };
    await request(app.baseUrl).get('/log-fixtures/early').set(origin).expect(200);
    const intercept = jest.spyOn(HttpCacheInterceptor.prototype, 'intercept');
    const hit = await request(app.baseUrl).get('/log-fixtures/early').set({ ...origin, 'X-Request-Id': 'early-hit' }).expect(200);
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(intercept).not.toHaveBeenCalled();
    expect(hit.headers['x-request-id']).toBe('early-hit');
    expect(hit.headers['access-control-allow-origin']).toBe('https://ops.example');
    expect(hit.headers['access-control-expose-headers']).toBe('x-request-id, x-cache, etag');
    expect(hit.body).toEqual({ answer: 42 });
    expect(linesOf(app, 'early-hit')).toEqual([
      expect.objectContaining({ level: 30, req: expect.objectContaining({ id: 'early-hit', path: '/log-fixtures/early' }), res: { statusCode: 200 } }),
    ]);
  });
});

describe('request logging at LOG_LEVEL=warn', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ env: { LOG_LEVEL: 'warn' } });
  });
  afterAll(() => app.close());

  it('writes no line for a 2xx answer and a warn line for a 4xx', async () => {
    await request(app.baseUrl).get('/health').set('X-Request-Id', 'quiet-ok').expect(200);
    await request(app.baseUrl).get('/no/such/route').set('X-Request-Id', 'loud-404').expect(404);
    expect(linesOf(app, 'quiet-ok')).toEqual([]);
    expect(linesOf(app, 'loud-404')).toEqual([expect.objectContaining({ level: 40, res: { statusCode: 404 } })]);
  });
});

describe('the access log behind a trusted proxy', () => {
  it("writes the address each request names, though requests share a connection", async () => {
    const adapter = new FastifyAdapter({ trustProxy: true, skipMiddie: true });
    const logs = new LogCapture();
    const logger = pino({ level: 'info' }, logs);
    installAccessLog(adapter, () => logger);
    const fastify = adapter.getInstance();
    fastify.get('/', (_request, reply) => reply.send('ok'));
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    const agent = oneConnectionFrom('127.0.0.1');
    try {
      const url = `http://127.0.0.1:${(fastify.server.address() as AddressInfo).port}/`;
      const ports = new Set<number>();
      for (const client of ['203.0.113.7', '198.51.100.20', '203.0.113.7']) ports.add(await getOver(agent, url, { 'X-Forwarded-For': client }));

      expect(ports.size).toBe(1);
      expect(logs.lines.map((line) => (line.req as { remoteAddress?: string }).remoteAddress)).toEqual(['203.0.113.7', '198.51.100.20', '203.0.113.7']);
    } finally {
      agent.destroy();
      await fastify.close();
    }
  });
});
