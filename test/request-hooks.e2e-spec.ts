import type { Socket } from 'node:net';
import { Controller, Get, Injectable, Module, Post, Res, type MiddlewareConsumer, type NestMiddleware, type NestModule } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyReply } from 'fastify';
import fc from 'fast-check';
import request from 'supertest';
import { onRequestAnswered, onRequestArrived, unfinishedResponses } from '@app/http';
import { RequestsInFlight } from '../apps/api/src/lifecycle';
import { pollUntil } from './support/poll';
import { leaveWhileHeld, openRaw, sendRaw, sendRawAll, type RawConnection } from './support/raw-http';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * The request-path hooks Fastify runs for every route of an instance; not `onSend`, where the test
 * harness records each answer for the OpenAPI contract check (test/support/openapi-contract.ts).
 */
const REQUEST_PATH_HOOKS = ['onRequest', 'preParsing', 'preValidation', 'preHandler', 'preSerialization', 'onResponse', 'onError'] as const;

/**
 * How many instance-level hooks of each kind `fastify` runs per request. Fastify offers no API that
 * lists them, so this reads its hook table (the `fastify.hooks` symbol) — only here, in a test.
 */
function hookCounts(fastify: FastifyInstance): Record<string, number> {
  const table = Object.getOwnPropertySymbols(fastify).find((symbol) => symbol.description === 'fastify.hooks');
  if (!table) throw new Error('Fastify no longer keeps its hooks under the "fastify.hooks" symbol');
  const hooks = (fastify as unknown as Record<symbol, Record<string, unknown[]>>)[table];
  return Object.fromEntries(REQUEST_PATH_HOOKS.map((name) => [name, hooks[name].length]));
}

/** The getter Fastify defines for `name` somewhere up `object`'s prototype chain. */
function fastifysGetter(object: object, name: string): () => unknown {
  for (let prototype = Object.getPrototypeOf(object); prototype; prototype = Object.getPrototypeOf(prototype)) {
    const getter = Object.getOwnPropertyDescriptor(prototype, name)?.get;
    if (getter) return getter;
  }
  throw new Error(`Fastify no longer defines ${name} as a getter`);
}

@Injectable()
class StampMiddleware implements NestMiddleware {
  use(_request: unknown, _response: unknown, next: () => void): void {
    next();
  }
}

@Module({})
class ModuleWithMiddleware implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(StampMiddleware).forRoutes('*');
  }
}

describe('per-request work rides on the hooks Nest already runs', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ env: { CORS_ENABLED: 'true', CORS_ORIGIN: 'https://ops.example' } });
  });
  afterAll(() => app.close());

  it('adds no Fastify hook to the request path beyond those of a bare Nest adapter without middie', async () => {
    const bare = new FastifyAdapter({ skipMiddie: true });
    try {
      await bare.getInstance().ready();
      expect(hookCounts(app.app.getHttpAdapter().getInstance())).toEqual(hookCounts(bare.getInstance()));
    } finally {
      await bare.close();
    }
  });

  it('still puts the request id on every kind of answer: a route, a 404, a CORS preflight, a malformed URL', async () => {
    const routed = await request(app.baseUrl).get('/health/live').set('X-Request-Id', 'hooks-routed').expect(200);
    expect(routed.headers['x-request-id']).toBe('hooks-routed');
    const missing = await request(app.baseUrl).get('/no/such/route').set('X-Request-Id', 'hooks-404').expect(404);
    expect(missing.headers['x-request-id']).toBe('hooks-404');
    const preflight = await request(app.baseUrl)
      .options('/health')
      .set({ Origin: 'https://ops.example', 'Access-Control-Request-Method': 'GET', 'X-Request-Id': 'hooks-preflight' })
      .expect(204);
    expect(preflight.headers['x-request-id']).toBe('hooks-preflight');
    const malformed = await sendRaw(
      Number(new URL(app.baseUrl).port),
      'GET /health/%zz HTTP/1.1\r\nHost: localhost\r\nX-Request-Id: hooks-malformed\r\nConnection: close\r\n\r\n',
    );
    expect(malformed.status).toBe(400);
    expect(malformed.headers['x-request-id']).toBe('hooks-malformed');
  });

  it('counts and logs every answer once through the one answered-request hook', async () => {
    await request(app.baseUrl).get('/health').set('X-Request-Id', 'hooks-counted').expect(200);
    const accessLines = app.logs.lines.filter((line) => (line.req as { id?: string } | undefined)?.id === 'hooks-counted');
    expect(accessLines).toHaveLength(1);
    const metrics = await request(app.baseUrl).get('/metrics').expect(200);
    expect(metrics.text).toMatch(/^http_request_duration_seconds_count\{[^}]*route="\/health"[^}]*\} [1-9]/m);
  });

  it("reads an answer's duration from Fastify once and hands every observer, the access log too, the same value", async () => {
    const adapter = app.app.getHttpAdapter() as FastifyAdapter;
    const id = 'hooks-duration-once';
    let reads = 0;
    const observed: number[] = [];
    onRequestArrived(adapter, (arrived, reply) => {
      if (arrived.id !== id) return;
      const read = fastifysGetter(reply, 'elapsedTime');
      Object.defineProperty(reply, 'elapsedTime', {
        get() {
          reads += 1;
          return read.call(this) as number;
        },
      });
    });
    for (let observer = 0; observer < 2; observer += 1) {
      onRequestAnswered(adapter, (answered, elapsedMs) => void (answered.id === id && observed.push(elapsedMs)));
    }

    await request(app.baseUrl).get('/health').set('X-Request-Id', id).expect(200);
    const { value: line } = await pollUntil(
      async () => app.logs.lines.find((logged) => (logged.req as { id?: string } | undefined)?.id === id),
      (found) => found !== undefined,
      2_000,
      20,
    );

    expect(reads).toBe(1);
    expect(observed).toHaveLength(2);
    expect(observed[0]).toBeGreaterThan(0);
    expect(observed[1]).toBe(observed[0]);
    expect(line).toMatchObject({ durationMs: Math.round(observed[0]) });
  });
});

/**
 * A route that answers when the test lets it (a request held in flight), one that streams its answer
 * and ends it when the test lets it (headers sent before the end), and one whose every call is a side
 * effect the test counts.
 */
const waitingForRelease: Array<() => void> = [];
const heldRoute = {
  entered: 0,
  effects: 0,
  /** Lets every held request answer. */
  release: (): void => {
    for (const resolve of waitingForRelease.splice(0)) resolve();
  },
};
const released = () => new Promise<void>((resolve) => waitingForRelease.push(resolve));

/** Opens a connection, sends `requests` on it and resolves once the held routes hold `held` more of them. */
async function openHeld(port: number, requests: string, held = 1): Promise<RawConnection> {
  const entered = heldRoute.entered;
  const connection = openRaw(port, 5_000);
  connection.send(requests);
  await pollUntil(async () => heldRoute.entered, (count) => count >= entered + held, 5_000, 5);
  return connection;
}

@Controller('held')
class HeldController {
  @Get()
  async held(): Promise<{ released: true }> {
    heldRoute.entered += 1;
    await released();
    return { released: true };
  }

  @Get('streamed')
  async streamed(@Res() reply: FastifyReply): Promise<void> {
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'text/plain', 'content-length': '10' });
    reply.raw.write('first');
    heldRoute.entered += 1;
    await released();
    reply.raw.end('-last');
  }

  @Post('effect')
  effect(): { effects: number } {
    heldRoute.effects += 1;
    return { effects: heldRoute.effects };
  }
}

@Module({ controllers: [HeldController] })
class HeldRouteModule {}

describe('requests in flight, counted for the drain (the count SIGTERM waits for)', () => {
  let app: TestApp;
  let inFlight: RequestsInFlight;

  beforeAll(async () => {
    app = await startTestApp({ extraModules: [HeldRouteModule] });
    inFlight = RequestsInFlight.of(app.app);
  });
  afterAll(() => app.close());

  /** Sends a request to the held route and returns, once the route holds it, its answer to come. */
  async function holdOne(signal?: AbortSignal): Promise<{ answer: Promise<Response | undefined> }> {
    const entered = heldRoute.entered;
    const answer = fetch(`${app.baseUrl}/held`, { signal }).catch(() => undefined);
    await pollUntil(async () => heldRoute.entered, (count) => count > entered, 5_000, 5);
    return { answer };
  }

  it('are counted by the app itself, with no second request listener on the server', () => {
    expect(app.app.getHttpServer().listenerCount('request')).toBe(1);
  });

  it('counts a request from its arrival until its answer is finished', async () => {
    expect(inFlight.size).toBe(0);
    const { answer } = await holdOne();
    expect(inFlight.size).toBe(1);
    heldRoute.release();
    expect((await answer)?.status).toBe(200);
    expect((await pollUntil(async () => inFlight.size, (size) => size === 0, 2_000, 5)).value).toBe(0);
  });

  it('forgets a request whose client went away before the answer', async () => {
    const client = new AbortController();
    const { answer } = await holdOne(client.signal);
    expect(inFlight.size).toBe(1);
    client.abort();
    expect(await answer).toBeUndefined();
    expect((await pollUntil(async () => inFlight.size, (size) => size === 0, 2_000, 5)).value).toBe(0);
    heldRoute.release();
  });

  it('logs an answered-request observer that throws and still runs the next one, for an answer sent and for a client that left (a throw there would stop the process)', async () => {
    const adapter = app.app.getHttpAdapter() as FastifyAdapter;
    const ids = new Set(['observer-throws-answered', 'observer-throws-left']);
    const observedNext: Array<[string, number]> = [];
    onRequestAnswered(adapter, (answered) => {
      if (ids.has(answered.id)) throw new Error(`observer broke on ${answered.id}`);
    });
    onRequestAnswered(adapter, (answered, _elapsedMs, statusCode) => void (ids.has(answered.id) && observedNext.push([answered.id, statusCode])));

    await request(app.baseUrl).get('/health/live').set('X-Request-Id', 'observer-throws-answered').expect(200);
    const port = Number(new URL(app.baseUrl).port);
    try {
      await leaveWhileHeld(port, 'GET /held HTTP/1.1\r\nHost: test\r\nX-Request-Id: observer-throws-left\r\n\r\n', () => heldRoute.entered);
      await pollUntil(async () => observedNext.length, (count) => count === 2, 5_000, 5);
    } finally {
      heldRoute.release();
    }

    expect(observedNext).toEqual([
      ['observer-throws-answered', 200],
      ['observer-throws-left', 499],
    ]);
    const failures = app.logs.lines.filter((line) => line.msg === 'an answered-request observer failed');
    expect(failures.map((line) => [line.level, line.requestId, (line.err as { message?: string } | undefined)?.message])).toEqual([
      [50, 'observer-throws-answered', 'observer broke on observer-throws-answered'],
      [50, 'observer-throws-left', 'observer broke on observer-throws-left'],
    ]);
    await request(app.baseUrl).get('/health/live').expect(200);
  });

  it('answers a request that asked to close the connection, and runs nothing pipelined behind it', async () => {
    const effects = heldRoute.effects;
    const connection = await openHeld(
      Number(new URL(app.baseUrl).port),
      'GET /held HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n' + 'POST /held/effect HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n\r\n',
    );
    heldRoute.release();

    const received = await connection.answers;
    expect(received.map((answer) => [answer.status, answer.headers.connection])).toEqual([[200, 'close']]);
    expect(JSON.parse(received[0].body)).toEqual({ released: true });
    expect(heldRoute.effects).toBe(effects);
  });

  it('answers the request in flight before closing a connection on which invalid bytes followed it', async () => {
    const connection = await openHeld(Number(new URL(app.baseUrl).port), 'GET /held HTTP/1.1\r\nHost: test\r\n\r\nNOT HTTP AT ALL\r\n\r\n');
    heldRoute.release();

    const received = await connection.answers;
    expect(received.map((answer) => [answer.status, answer.headers.connection])).toEqual([[200, 'close']]);
    expect(JSON.parse(received[0].body)).toEqual({ released: true });
  });

  it('closes a connection whose client stopped sending in the middle of a body, and logs its request with 499', async () => {
    // The client half-closes (FIN) after 5 of 100 announced bytes: Node reports the unfinished message as a
    // client error, and the request can never complete; leaving the socket open kept it in CLOSE-WAIT for good.
    const connection = openRaw(Number(new URL(app.baseUrl).port), 3_000);
    connection.end('POST /held/effect HTTP/1.1\r\nHost: test\r\nX-Request-Id: half-sent-body\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"hal');

    // Resolves once the server closes the connection; rejects when it is still open after 3 s.
    const answers = await connection.answers;
    expect(answers.map((answer) => [answer.status, JSON.parse(answer.body).say])).toEqual([[400, 'The request body ended before it was complete.']]);
    await pollUntil(
      async () => app.logs.lines.filter((line) => (line.req as { id?: string } | undefined)?.id === 'half-sent-body'),
      (lines) => lines.length > 0,
      2_000,
      10,
    );
    const lines = app.logs.lines.filter((line) => (line.req as { id?: string } | undefined)?.id === 'half-sent-body');
    expect(lines.map((line) => (line.res as { statusCode?: number }).statusCode)).toEqual([499]);
    // A client that gives up is not a fault of the service: no error line beside the access line.
    expect(app.logs.lines.filter((line) => line.requestId === 'half-sent-body')).toEqual([]);
  });

  it('answers a body with a malformed chunk 400 and closes, and logs its request with that 400', async () => {
    const connection = openRaw(Number(new URL(app.baseUrl).port), 3_000);
    connection.send('POST /held/effect HTTP/1.1\r\nHost: test\r\nX-Request-Id: malformed-chunk\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{"\r\nzz\r\n');

    const answers = await connection.answers;
    expect(answers.map((answer) => [answer.status, JSON.parse(answer.body).say])).toEqual([[400, "The request body's chunked encoding is not valid."]]);
    const lines = () => app.logs.lines.filter((line) => (line.req as { id?: string } | undefined)?.id === 'malformed-chunk');
    await pollUntil(async () => lines(), (found) => found.length > 0, 2_000, 10);
    expect(lines().map((line) => [line.level, (line.res as { statusCode?: number }).statusCode])).toEqual([[40, 400]]);
  });

  it('never runs a route whose answer is not sent, whatever is pipelined on a connection (fuzzed)', async () => {
    const port = Number(new URL(app.baseUrl).port);
    type Piped = 'effect' | 'effect, close' | 'live' | 'garbage';
    const bytes: Record<Piped, string> = {
      effect: 'POST /held/effect HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n\r\n',
      'effect, close': 'POST /held/effect HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Length: 0\r\n\r\n',
      live: 'GET /health/live HTTP/1.1\r\nHost: test\r\n\r\n',
      garbage: 'NOT HTTP \u0000 AT ALL\r\n\r\n',
    };
    const status: Record<Piped, number> = { effect: 201, 'effect, close': 201, live: 200, garbage: 400 };
    const ends = (piped: Piped) => piped === 'effect, close' || piped === 'garbage';
    const lastCloses = 'GET /health/live HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n';
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom<Piped>('effect', 'effect, close', 'live', 'garbage'), { minLength: 1, maxLength: 6 }), async (sequence) => {
        const effects = heldRoute.effects;
        const received = await sendRawAll(port, sequence.map((piped) => bytes[piped]).join('') + lastCloses, 5_000);
        const endsAt = sequence.findIndex(ends);
        const answered = endsAt < 0 ? [...sequence, 'live' as const] : sequence.slice(0, sequence[endsAt] === 'garbage' ? endsAt : endsAt + 1);
        const statuses = received.map((answer) => answer.status);
        // Invalid bytes get their 400 only when every answer before them had already been sent.
        const expected = answered.map((piped) => status[piped]);
        expect([expected, [...expected, 400]]).toContainEqual(statuses);
        if (statuses.length > expected.length) expect(sequence[endsAt]).toBe('garbage');
        expect(heldRoute.effects - effects).toBe(statuses.filter((code) => code === 201).length);
      }),
      { numRuns: 150, seed: 20261204 },
    );
  });

  // Last here: the app stays draining. sendRaw reads until the server closes the connection, so a
  // keep-alive answer would time out instead of resolving.
  it('once draining, closes the connection after each answer: the one in flight and one arriving later', async () => {
    const port = Number(new URL(app.baseUrl).port);
    const entered = heldRoute.entered;
    const held = sendRaw(port, 'GET /held HTTP/1.1\r\nHost: localhost\r\n\r\n', 5_000);
    await pollUntil(async () => heldRoute.entered, (count) => count > entered, 5_000, 5);
    inFlight.closeConnectionsAfterAnswers();
    const later = await sendRaw(port, 'GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n', 5_000);
    expect([later.status, later.headers.connection]).toEqual([200, 'close']);
    heldRoute.release();
    const answered = await held;
    expect([answered.status, answered.headers.connection, JSON.parse(answered.body)]).toEqual([200, 'close', { released: true }]);
  });
});

describe('a drain with requests pipelined or answers under way (each test its own app: a drain does not end)', () => {
  let app: TestApp;
  let inFlight: RequestsInFlight;
  let port: number;

  beforeEach(async () => {
    app = await startTestApp({ extraModules: [HeldRouteModule] });
    inFlight = RequestsInFlight.of(app.app);
    port = Number(new URL(app.baseUrl).port);
  });
  afterEach(async () => {
    heldRoute.release();
    await app.close();
  });

  it('counts the requests pipelined behind the one in flight and answers them all, closing the connection after the last', async () => {
    const connection = await openHeld(port, 'GET /held HTTP/1.1\r\nHost: test\r\n\r\n'.repeat(2), 2);
    expect(inFlight.size).toBe(2);

    inFlight.closeConnectionsAfterAnswers();
    heldRoute.release();

    const received = await connection.answers;
    expect(received.map((answer) => [answer.status, answer.headers.connection, JSON.parse(answer.body)])).toEqual([
      [200, 'keep-alive', { released: true }],
      [200, 'close', { released: true }],
    ]);
    expect(inFlight.size).toBe(0);
  });

  it('does not run a request pipelined behind the answer that closes the connection: it is logged as 503', async () => {
    const effects = heldRoute.effects;
    const connection = await openHeld(port, 'GET /held HTTP/1.1\r\nHost: test\r\n\r\n');
    inFlight.closeConnectionsAfterAnswers();
    connection.send('POST /held/effect HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\nX-Request-Id: piped-after-close\r\n\r\n');
    const { value: refusedLine } = await pollUntil(
      async () => app.logs.lines.find((line) => (line.req as { id?: string } | undefined)?.id === 'piped-after-close'),
      (line) => line !== undefined,
      5_000,
      5,
    );
    heldRoute.release();

    expect((await connection.answers).map((answer) => [answer.status, answer.headers.connection])).toEqual([[200, 'close']]);
    expect(heldRoute.effects).toBe(effects);
    expect(refusedLine).toMatchObject({ res: { statusCode: 503 } });
  });

  it('ends a connection once the answer it carried is sent, when its headers were sent before the drain began, and runs nothing sent on it after', async () => {
    const effects = heldRoute.effects;
    const serverSideClosed = new Promise<void>((resolve) =>
      app.app.getHttpServer().once('connection', (socket: Socket) => socket.once('close', () => setImmediate(resolve))),
    );
    const connection = await openHeld(port, 'GET /held/streamed HTTP/1.1\r\nHost: test\r\n\r\n');

    inFlight.closeConnectionsAfterAnswers();
    heldRoute.release();
    await connection.received('first-last');
    connection.send('POST /held/effect HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n\r\n');

    expect((await connection.answers).map((answer) => [answer.status, answer.body])).toEqual([[200, 'first-last']]);
    await serverSideClosed;
    expect(heldRoute.effects).toBe(effects);
  });

  it('answers a pipelined request whose route ran before the drain began, then ends the connection', async () => {
    const effects = heldRoute.effects;
    const connections: Socket[] = [];
    app.app.getHttpServer().on('connection', (socket: Socket) => connections.push(socket));
    const connection = await openHeld(port, 'GET /held HTTP/1.1\r\nHost: test\r\n\r\nPOST /held/effect HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n\r\n');
    const lastAnswerMade = () => connections.length === 1 && unfinishedResponses(connections[0]).at(-1)?.headersSent === true;
    await pollUntil(async () => lastAnswerMade(), (made) => made, 5_000, 5);
    expect([inFlight.size, heldRoute.effects]).toEqual([2, effects + 1]);

    inFlight.closeConnectionsAfterAnswers();
    heldRoute.release();

    const received = await connection.answers;
    expect(received.map((answer) => [answer.status, answer.headers.connection, JSON.parse(answer.body)])).toEqual([
      [200, 'keep-alive', { released: true }],
      [201, 'keep-alive', { effects: effects + 1 }],
    ]);
  });
});

describe('Nest middleware', () => {
  it('stops the app at boot with an error that says why, instead of running without it', async () => {
    const booted = await startTestApp({ extraModules: [ModuleWithMiddleware] }).catch((error: unknown) => error);
    if (!(booted instanceof Error)) await (booted as TestApp).close();
    expect(booted).toBeInstanceOf(Error);
    expect((booted as Error).message).toMatch(/Nest middleware is not supported/);
  });
});
