import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import Redis from 'ioredis';
import { startFakeCursorRunner } from './support/fakes/cursor-runner-server';
import type { FakeHttpServer } from './support/fakes/fake-http-server';
import { rawRequest, sendRaw, type RawResponse } from './support/raw-http';
import { openApiDocument, requestFieldNames } from './support/openapi-contract';
import { startTestApp, testRedisUrl, type MappedRoute, type TestApp } from './support/test-app';

const ADMIN = { 'X-Admin-Secret': 'test-webhook-secret' };
const BODY_LIMIT = 128 * 1024;
const deeplyNested = '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000);
const deepArrays = '['.repeat(10_000) + ']'.repeat(10_000);

/** The route whose errors are `{error: <sentence>}`; every other route answers `{ok:false, say, result:{error}}`. */
const ERROR_ONLY_ROUTES = new Set(['POST /cursor-runner/callback']);

function routeKey(route: MappedRoute): string {
  return `${route.method} ${route.url}`;
}

/** Why `response` is not an error in the documented shape of `route` (`undefined` when it is). */
function shapeProblem(response: RawResponse, route: MappedRoute | undefined): string | undefined {
  if (!/^application\/json/.test(response.headers['content-type'] ?? '')) {
    return `content-type ${response.headers['content-type']}`;
  }
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(response.body) as Record<string, unknown>;
  } catch {
    return 'body is not JSON';
  }
  if (route && ERROR_ONLY_ROUTES.has(routeKey(route))) {
    return typeof body.error === 'string' && !('ok' in body) ? undefined : 'not {error: <sentence>}';
  }
  const result = body.result as Record<string, unknown> | undefined;
  return body.ok === false && typeof body.say === 'string' && typeof result?.error === 'string'
    ? undefined
    : 'not {ok: false, say, result: {error}}';
}

function expectErrorShape(response: RawResponse, status: number, route?: MappedRoute): void {
  expect({ status: response.status, problem: shapeProblem(response, route) }).toEqual({ status, problem: undefined });
}

describe('hostile input: no 5xx, one error shape per route family, the process stays up', () => {
  let cursorRunner: FakeHttpServer;
  let app: TestApp;
  let port: number;
  const route = (method: string, url: string) => app.routes.find((one) => one.method === method && one.url === url)!;
  const send = (method: string, target: string, headers: Record<string, string>, body?: string) =>
    sendRaw(port, rawRequest(method, target, headers, body));

  beforeAll(async () => {
    cursorRunner = await startFakeCursorRunner({ webhookSecret: 'test-webhook-secret', repositories: ['notes'] });
    app = await startTestApp({
      env: {
        REDIS_URL: testRedisUrl(),
        CACHE_KEY_PREFIX: `t-${randomUUID().slice(0, 8)}`,
        CURSOR_RUNNER_URL: cursorRunner.url,
        BODY_LIMIT_BYTES: String(BODY_LIMIT),
        CALLBACK_BODY_LIMIT_BYTES: String(BODY_LIMIT),
        LOG_LEVEL: 'warn',
      },
    });
    port = Number(new URL(app.baseUrl).port);
  });
  afterAll(async () => {
    await app.close();
    // The message flow stores a pending request per update it forwards; remove the ones this run made.
    const forwarded = cursorRunner.requests.map((request) => (request.body as { id?: unknown } | undefined)?.id);
    const redis = new Redis(testRedisUrl());
    for (const id of forwarded.filter((one): one is string => typeof one === 'string')) {
      await redis.del(`cursor_runner_callback:${id}`, `{cursor_runner_callback:${id}}:delivering`);
    }
    await redis.quit();
    await cursorRunner.stop();
  });

  it('maps the routes it fuzzes from the running app', () => {
    expect(app.routes.map(routeKey)).toEqual(
      expect.arrayContaining(['PATCH /telegram/bots/:id', 'PUT /settings/:name', 'POST /cursor-runner/callback']),
    );
  });

  it.each([
    ['PUT', '/settings/debug'],
    ['POST', '/admin/cache/invalidate'],
    ['POST', '/telegram/set_webhook'],
    ['POST', '/telegram/bots'],
    ['PATCH', '/telegram/bots/1'],
    ['POST', '/cursor-runner/cursor/execute'],
    ['POST', '/cursor-runner/cursor/execute/async'],
    ['POST', '/agent-tools'],
  ])('%s %s: a body nested 10 000 levels deep is a 400 naming the limit', async (method, target) => {
    for (const body of [deeplyNested, deepArrays]) {
      const response = await send(method, target, { ...ADMIN, 'Content-Type': 'application/json' }, body);
      expectErrorShape(response, 400);
      expect(JSON.parse(response.body).say).toBe(
        'Request body is nested too deeply: the limit is 64 levels of objects and arrays.',
      );
    }
  });

  it('answers a too deeply nested callback in the callback route\'s own shape', async () => {
    const response = await send('POST', '/cursor-runner/callback', { 'Content-Type': 'application/json', 'X-Webhook-Secret': 'test-webhook-secret' }, deeplyNested);
    expectErrorShape(response, 400, route('POST', '/cursor-runner/callback'));
  });

  // Nest's `+value` had turned 0x1, 1e0, +1, ' 1', '1 ' and 01 into 1 (bot 1) and '' into 0 before the id's own check.
  it.each(['99999999999999999999', '9007199254740993', '0', '-1', '1.5', 'abc', '0x1', '1e0', '%2B1', '%201', '1%20', '01', '1.0', '%20', '0b1', 'Infinity'])(
    'PATCH /telegram/bots/%s is a 400 naming the id',
    async (id) => {
      const response = await send('PATCH', `/telegram/bots/${id}`, { ...ADMIN, 'Content-Type': 'application/json' }, '{}');
      expectErrorShape(response, 400);
      expect(JSON.parse(response.body).result.fields).toEqual([
        { field: 'id', message: 'id must be a positive integer below 2^53' },
      ]);
    },
  );

  it.each([
    ['application/json; charset=utf-16', 'utf-16'],
    ['application/json; charset="ISO-8859-1"', 'ISO-8859-1'],
    ['application/x-www-form-urlencoded; charset=windows-1252', 'windows-1252'],
    // Two charsets: the foreign one, in either order (the first one had won).
    ['application/json; charset=utf-8; charset=iso-8859-1', 'iso-8859-1'],
    ['application/json; charset=latin1; charset=utf-8', 'latin1'],
    ['application/json; foo="a;b"; charset=latin1', 'latin1'],
    // A quote never closed is not a quoted value: named as sent, not cut to "utf-".
    ['application/json; charset="utf-8', '"utf-8'],
  ])('answers a body in %s with 415 naming the charset (it was read as UTF-8, its accents lost)', async (type, charset) => {
    const text = type.startsWith('application/json') ? '{"name":"caf\u00e9"}' : 'name=caf%E9';
    const response = await send('PUT', '/settings/debug', { ...ADMIN, 'Content-Type': type }, text);
    expectErrorShape(response, 415);
    expect(JSON.parse(response.body).say).toBe(`Request bodies are read as UTF-8 only; send this one in UTF-8 instead of charset=${charset}.`);
  });

  it.each([
    ['application/json', '{"enabled":false,"note":"caf\u00e9"}'],
    ['application/json; charset=utf-8', '{"enabled":false,"note":"caf\u00e9"}'],
    ['application/x-www-form-urlencoded', 'enabled=false&note=caf\u00e9'],
  ])('answers a %s body that is not UTF-8 (Latin-1 bytes) with 400, in each route family\'s shape', async (type, text) => {
    // Read as UTF-8, 0xE9 had become U+FFFD, and was stored or forwarded so.
    const latin1 = Buffer.from(text, 'latin1');
    const settings = await sendRaw(port, rawRequest('PUT', '/settings/debug', { ...ADMIN, 'Content-Type': type }, latin1));
    expectErrorShape(settings, 400);
    expect(JSON.parse(settings.body).say).toBe('Request body is not valid UTF-8; bodies are read as UTF-8 only.');
    const callback = await sendRaw(port, rawRequest('POST', '/cursor-runner/callback?secret=test-webhook-secret', { 'Content-Type': type }, latin1));
    expectErrorShape(callback, 400, route('POST', '/cursor-runner/callback'));
  });

  it.each([
    ['gzip', gzipSync('{"enabled":false}')],
    ['br', Buffer.from('{"enabled":false}')],
    [' Deflate ', Buffer.from('{"enabled":false}')],
    ['identity, gzip', gzipSync('{"enabled":false}')],
  ])('answers a body sent with Content-Encoding %j with 415 naming it, in each route family\'s shape (a gzip body was "not valid UTF-8")', async (encoding, body) => {
    const headers = { 'Content-Type': 'application/json', 'Content-Encoding': encoding };
    const settings = await sendRaw(port, rawRequest('PUT', '/settings/debug', { ...ADMIN, ...headers }, body));
    expectErrorShape(settings, 415);
    expect(JSON.parse(settings.body).say).toBe(`Request bodies are read uncompressed only; send this one without Content-Encoding: ${encoding.trim()}.`);
    const callback = await sendRaw(port, rawRequest('POST', '/cursor-runner/callback?secret=test-webhook-secret', headers, body));
    expectErrorShape(callback, 415, route('POST', '/cursor-runner/callback'));
    for (const identity of ['identity', ' IDENTITY ', 'identity, identity', '']) {
      const read = await sendRaw(port, rawRequest('PUT', '/settings/debug', { ...ADMIN, 'Content-Type': 'application/json', 'Content-Encoding': identity }, Buffer.from('{"enabled":false}')));
      expect([identity, read.status]).toEqual([identity, 200]);
    }
  });

  it.each(['{"__proto__":{"enabled":true}}', '{"enabled":false,"constructor":{"prototype":{"x":1}}}'])(
    'answers a JSON body with a prototype-poisoning key (%s) with 400 saying so, not "not valid JSON"',
    async (text) => {
      const response = await send('PUT', '/settings/debug', { ...ADMIN, 'Content-Type': 'application/json' }, text);
      expectErrorShape(response, 400);
      expect(JSON.parse(response.body).say).toBe(
        'Request body has a "__proto__" key or a "constructor" key holding "prototype", which are refused (prototype poisoning).',
      );
      const broken = await send('PUT', '/settings/debug', { ...ADMIN, 'Content-Type': 'application/json' }, text.slice(0, -1));
      expect(JSON.parse(broken.body).say).not.toMatch(/prototype/);
    },
  );

  it.each([
    'application/json; charset=UTF-8',
    'application/json; charset=utf8',
    'application/json;charset=us-ascii',
    // A charset inside another parameter's quoted value is not one (it was refused); an empty one names none.
    'application/json; foo="x;charset=latin1"',
    'application/json; charset=',
    'application/json; charset=""',
    'application/json;; charset = utf-8 ;',
  ])('reads a body in %s', async (type) => {
    const response = await send('PUT', '/settings/debug', { ...ADMIN, 'Content-Type': type }, '{"enabled":false}');
    expect(response.status).toBe(200);
  });

  it('answers what Fastify and Node refuse before a route in the same shape', async () => {
    const raw = (target: string, extra = '') =>
      sendRaw(port, Buffer.from(`GET ${target} HTTP/1.1\r\nHost: x\r\n${extra}Connection: close\r\n\r\n`, 'latin1'));
    expectErrorShape(await send('GET', '/settings/%E9', ADMIN), 400);
    expectErrorShape(await raw(`/settings/${Buffer.from('é').toString('latin1')}`), 400);
    expectErrorShape(await raw('/', `X-Big: ${'a'.repeat(20_000)}\r\n`), 431);
    expectErrorShape(await sendRaw(port, 'NOT HTTP AT ALL\r\n\r\n'), 400);
    expectErrorShape(await send('GET', `/settings/${'a'.repeat(200)}`, ADMIN), 414);
    // Node dropped a CONNECT's connection without a byte.
    expectErrorShape(await sendRaw(port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'), 405);
  });

  it.each([
    ['malformed JSON', 'application/json', '{"enabled":', 400],
    ['an empty JSON body', 'application/json', '', 400],
    ['an unsupported content type', 'text/xml', '<enabled>true</enabled>', 415],
    ['a body over the limit', 'application/json', `{"enabled":true,"pad":"${'x'.repeat(BODY_LIMIT)}"}`, 413],
    ['a prototype-pollution key', 'application/json', '{"__proto__":{"enabled":true}}', 400],
  ])('answers %s in each route family\'s shape', async (_case, contentType, body, status) => {
    const settings = await send('PUT', '/settings/debug', { ...ADMIN, 'Content-Type': contentType }, body);
    expectErrorShape(settings, status);
    expect(JSON.parse(settings.body).say).not.toBe(JSON.parse(settings.body).result.error);
    const callback = await send('POST', '/cursor-runner/callback?secret=test-webhook-secret', { 'Content-Type': contentType }, body);
    expectErrorShape(callback, status, route('POST', '/cursor-runner/callback'));
  });

  it('fuzzes every mapped route: never a 5xx, errors in the route family\'s shape, the process stays up', async () => {
    const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
    const credentials = {
      'X-Admin-Secret': 'test-webhook-secret',
      'X-EL-Secret': 'test-webhook-secret',
      'X-Webhook-Secret': 'test-webhook-secret',
      'X-Telegram-Bot-Api-Secret-Token': 'test-telegram-secret',
    };
    // The names the OpenAPI document gives request bodies and parameters, and a few no route expects.
    const fieldNames = [...requestFieldNames(await openApiDocument()), 'text', 'chat', '__proto__', 'constructor', 'prototype'];
    const oddStrings = fc.constantFrom(
      '', ' ', '%', '%E9', '%00', '%ZZ', '..', '../..', '-1', '0', '1e309', 'NaN', '99999999999999999999',
      '__proto__', 'constructor', 'a'.repeat(300), '\u0000', 'é', '🎤', '<script>', "' OR 1=1 --",
    );
    const scalar = fc.oneof(fc.string(), oddStrings, fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
    const value: fc.Arbitrary<unknown> = fc.oneof(scalar, fc.array(scalar, { maxLength: 4 }), fc.jsonValue({ maxDepth: 4 }));
    const fieldsObject = fc.dictionary(fc.constantFrom(...fieldNames), value, { maxKeys: 6 });
    const nested = fc
      .tuple(fc.integer({ min: 1, max: 3_000 }), fc.boolean())
      .map(([levels, arrays]) => (arrays ? '['.repeat(levels) + ']'.repeat(levels) : '{"a":'.repeat(levels) + '1' + '}'.repeat(levels)));
    const body = fc.oneof(
      fc.record({ type: fc.constant('application/json'), text: fc.jsonValue({ maxDepth: 5 }).map((json) => JSON.stringify(json)) }),
      fc.record({ type: fc.constant('application/json'), text: fieldsObject.map((fields) => JSON.stringify(fields)) }),
      fc.record({ type: fc.constant('application/json'), text: nested }),
      fc.record({ type: fc.constantFrom('application/json', 'application/json; charset=utf-8'), text: fc.string() }),
      fc.record({
        type: fc.constant('application/x-www-form-urlencoded'),
        text: fc.array(fc.tuple(fc.constantFrom(...fieldNames), fc.oneof(fc.string(), oddStrings)), { maxLength: 6 }).map(
          (pairs) => pairs.map(([key, item]) => `${encodeURIComponent(key)}=${encodeURIComponent(item)}`).join('&'),
        ),
      }),
      fc.record({
        type: fc.constantFrom('text/plain', 'application/xml', 'multipart/form-data', 'application/octet-stream', ';;', 'application/json;;'),
        text: fc.string(),
      }),
      fc.record({ type: fc.constant('application/json'), text: fc.constant(`{"pad":"${'x'.repeat(BODY_LIMIT)}"}`) }),
      fc.constant(undefined),
    );
    const pathValue = fc.oneof(
      fc.string().map(encodeURIComponent),
      oddStrings,
      fc.bigInt({ min: -(10n ** 25n), max: 10n ** 25n }).map(String),
      fc.integer({ min: 1, max: 5 }).map(String),
    );
    const query = fc
      .array(fc.tuple(fc.constantFrom(...fieldNames, 'secret', 'secret[]', 'a[b]'), fc.oneof(fc.string(), oddStrings, fc.constant('test-webhook-secret'))), { maxLength: 4 })
      .map((pairs) => pairs.map(([key, item]) => `${encodeURIComponent(key)}=${encodeURIComponent(item)}`).join('&'));
    const exchange = fc.record({
      route: fc.constantFrom(...app.routes),
      pathValues: fc.array(pathValue, { minLength: 3, maxLength: 3 }),
      query,
      credentials: fc.subarray(Object.keys(credentials) as (keyof typeof credentials)[]),
      body,
    });

    let sent = 0;
    await fc.assert(
      fc.asyncProperty(exchange, async ({ route: target, pathValues, query: search, credentials: presented, body: payload }) => {
        let parameter = 0;
        const path = target.url.replace(/:[A-Za-z_]+/g, () => pathValues[parameter++ % pathValues.length]);
        const headers: Record<string, string> = Object.fromEntries(presented.map((name) => [name, credentials[name]]));
        if (payload) headers['Content-Type'] = payload.type;
        const response = await send(target.method, search ? `${path}?${search}` : path, headers, payload?.text);
        sent += 1;
        expect(response.status).toBeLessThan(500);
        if (response.status >= 400) {
          // A 404 means the path matched no route (a parameter made it another path): the default shape.
          const matched = response.status === 404 ? undefined : target;
          expect({ status: response.status, problem: shapeProblem(response, matched) }).toEqual({
            status: response.status,
            problem: undefined,
          });
        }
      }),
      { seed, numRuns: 400, interruptAfterTimeLimit: 25_000, markInterruptAsFailure: false },
    ).catch((error: Error) => {
      const cause = error.cause instanceof Error ? `\n${error.cause.message}` : '';
      throw new Error(`${error.message.slice(0, 4_000)}${cause}\nReplay with FUZZ_SEED=${seed}`);
    });
    expect(sent).toBeGreaterThan(50);
    expect((await send('GET', '/health/live', {})).status).toBe(200);
  }, 60_000);
});
