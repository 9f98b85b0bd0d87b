import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { OpenAPIObject } from '@nestjs/swagger';
import request from 'supertest';
import { contractViolations, openApiDocument, toPathTemplate, undocumentedReason } from './support/openapi-contract';
import { startTestApp, testRedisUrl, type TestApp } from './support/test-app';

const run = promisify(execFile);
const SECRET = 'test-webhook-secret';
const VALIDATOR_CLI = require.resolve('@seriousme/openapi-schema-validator/bin/validate-api-cli.js');

type Operation = {
  security?: Record<string, string[]>[];
  tags?: string[];
  requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<string, { headers?: Record<string, unknown>; content?: Record<string, { schema: unknown }> }>;
};

function operation(document: OpenAPIObject, method: string, route: string): Operation {
  const found = (document.paths[route] as Record<string, Operation> | undefined)?.[method];
  if (!found) throw new Error(`${method.toUpperCase()} ${route} is not in the document`);
  return found;
}

function operations(document: OpenAPIObject): { method: string; route: string; operation: Operation }[] {
  return Object.entries(document.paths).flatMap(([route, item]) =>
    Object.entries(item as Record<string, Operation>).map(([method, found]) => ({ method, route, operation: found })),
  );
}

async function validateAsOpenApi(document: unknown): Promise<{ valid: boolean; output: string }> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'openapi-')), 'openapi.json');
  fs.writeFileSync(file, JSON.stringify(document));
  try {
    const { stdout } = await run(process.execPath, [VALIDATOR_CLI, file]);
    return { valid: true, output: stdout };
  } catch (error) {
    return { valid: false, output: String((error as { stdout?: string }).stdout) };
  }
}

describe('OpenAPI document, with Redis (every route mounted)', () => {
  let app: TestApp;
  let served: OpenAPIObject;

  beforeAll(async () => {
    app = await startTestApp({ env: { REDIS_URL: testRedisUrl(), CACHE_KEY_PREFIX: 'openapi-test', QUEUE_PREFIX: 'bull:openapi-test' } });
    served = (await request(app.baseUrl).get('/openapi.json').expect(200).expect('content-type', /json/)).body as OpenAPIObject;
  });
  afterAll(() => app.close());

  it('is served at GET /openapi.json as OpenAPI 3.1.0, the same document npm run openapi generates', async () => {
    expect(served.openapi).toBe('3.1.0');
    expect(served).toEqual(JSON.parse(JSON.stringify(await openApiDocument())));
  });

  it('describes every route Fastify mapped, or names why it leaves one out', () => {
    expect(app.routes.length).toBeGreaterThan(25);
    const missing = app.routes
      .filter(({ method, url }) => !(served.paths[toPathTemplate(url)] as Record<string, unknown> | undefined)?.[method.toLowerCase()])
      .filter(({ url }) => undocumentedReason(url) === undefined);
    expect(missing).toEqual([]);
    // Both exclusions are in use: the dashboard's own files and Swagger UI's.
    expect(app.routes.some(({ url }) => url.startsWith('/admin/queues/') && !served.paths[url])).toBe(true);
    expect(app.routes.some(({ url }) => url.startsWith('/docs/'))).toBe(true);
  });

  it('describes no route the app does not map', () => {
    const mapped = new Set(app.routes.map(({ method, url }) => `${method.toLowerCase()} ${toPathTemplate(url)}`));
    const phantom = operations(served)
      .map(({ method, route }) => `${method} ${route}`)
      .filter((key) => !mapped.has(key));
    expect(phantom).toEqual([]);
  });

  it('validates as OpenAPI 3.1 with an offline validator, which refuses a broken copy', async () => {
    const verdict = await validateAsOpenApi(served);
    expect(verdict).toEqual({ valid: true, output: expect.stringContaining('"valid": true') });
    const broken = { ...served, paths: { '/health': { get: { responses: { 200: { content: {} } } } } } };
    expect((await validateAsOpenApi(broken)).valid).toBe(false);
  }, 60_000);

  it('gives each route the security scheme of its guard', () => {
    const admin = [{ adminSecretHeader: [] }, { adminSecretQuery: [] }];
    expect(operation(served, 'get', '/settings').security).toEqual(admin);
    expect(operation(served, 'patch', '/telegram/bots/{id}').security).toEqual(admin);
    expect(operation(served, 'post', '/admin/cache/invalidate').security).toEqual(admin);
    expect(operation(served, 'post', '/cursor-runner/cursor/execute').security).toEqual(admin);
    expect(operation(served, 'post', '/agent-tools').security).toEqual([{ toolsSecretHeader: [] }, { toolsBearer: [] }]);
    expect(operation(served, 'post', '/telegram/webhook').security).toEqual([{ telegramSecretToken: [] }]);
    expect(operation(served, 'post', '/cursor-runner/callback').security).toEqual([
      { callbackSecretHeader: [] },
      { callbackRunnerSecretHeader: [] },
      { callbackSecretQuery: [] },
    ]);
    for (const open of ['/', '/health', '/health/live', '/health/ready', '/metrics']) {
      expect(operation(served, 'get', open).security).toBeUndefined();
    }
    expect(served.components?.securitySchemes).toMatchObject({
      adminSecretHeader: { type: 'apiKey', in: 'header', name: 'X-Admin-Secret' },
      adminSecretQuery: { type: 'apiKey', in: 'query', name: 'admin_secret' },
      toolsBearer: { type: 'http', scheme: 'bearer' },
      telegramSecretToken: { type: 'apiKey', in: 'header', name: 'X-Telegram-Bot-Api-Secret-Token' },
      callbackSecretQuery: { type: 'apiKey', in: 'query', name: 'secret' },
    });
  });

  it('documents X-Request-Id on every response, X-Cache and ETag (and 304) on the cached routes only', () => {
    for (const { method, route, operation: found } of operations(served)) {
      for (const [status, response] of Object.entries(found.responses)) {
        expect([method, route, status, response.headers]).toEqual([method, route, status, expect.objectContaining({ 'X-Request-Id': expect.anything() })]);
      }
    }
    const cached = operations(served).filter(({ operation: found }) => found.responses['200']?.headers?.['X-Cache']);
    expect(cached.map(({ method, route }) => `${method} ${route}`).sort()).toEqual([
      'get /agent-tools',
      'get /cursor-runner/repositories/{repository}/files',
      'get /settings',
      'get /settings/{name}',
    ]);
    for (const { operation: found } of cached) {
      expect(found.responses['200'].headers).toEqual(expect.objectContaining({ ETag: expect.anything() }));
      expect(found.responses['304']).toBeDefined();
    }
  });

  it("documents each route family's error shape", () => {
    const errorRef = (method: string, route: string, status: string) =>
      operation(served, method, route).responses[status].content?.['application/json'].schema;
    expect(errorRef('post', '/cursor-runner/callback', '401')).toEqual({ $ref: '#/components/schemas/ErrorOnlyBody' });
    expect(errorRef('post', '/cursor-runner/callback', '413')).toEqual({ $ref: '#/components/schemas/ErrorOnlyBody' });
    expect(errorRef('put', '/settings/{name}', '400')).toEqual({ $ref: '#/components/schemas/ErrorBody' });
    expect(errorRef('patch', '/telegram/bots/{id}', '404')).toEqual({ $ref: '#/components/schemas/ErrorBody' });
    expect(errorRef('post', '/telegram/set_webhook', '502')).toMatchObject({ required: ['ok', 'error'] });
    expect(errorRef('post', '/cursor-runner/cursor/execute', '502')).toMatchObject({ required: ['success', 'error'] });
  });

  it("takes each agent tool's arguments from its zod schema, as GET /agent-tools publishes them", async () => {
    const listed = (await request(app.baseUrl).get('/agent-tools').set('X-EL-Secret', SECRET).expect(200)).body as {
      tools: { name: string; args: unknown }[];
    };
    const body = operation(served, 'post', '/agent-tools').requestBody?.content['application/json'].schema as {
      oneOf: { properties: { tool: { enum: string[] }; args: unknown } }[];
    };
    expect(listed.tools.length).toBeGreaterThan(3);
    expect(body.oneOf.map(({ properties }) => ({ name: properties.tool.enum[0], args: properties.args }))).toEqual(
      listed.tools.map(({ name, args }) => ({ name, args })),
    );
  });

  it('documents the request bodies and parameters from the DTOs', () => {
    expect(served.components?.schemas?.CreateTelegramBotDto).toMatchObject({
      required: expect.arrayContaining(['name', 'bot_token', 'webhook_secret']),
      properties: { bot_token: { pattern: expect.any(String) } },
    });
    expect(operation(served, 'get', '/settings/{name}')).toMatchObject({
      parameters: [{ name: 'name', in: 'path', required: true, schema: { pattern: '^[a-z0-9_]{1,64}$' } }],
    });
    expect(operation(served, 'post', '/telegram/set_webhook')).toMatchObject({
      parameters: expect.arrayContaining([expect.objectContaining({ name: 'url', in: 'query' })]),
    });
  });

  it('documents the statuses a route sends and no other: a run lookup 414 and 503, the gone repository list no 502', () => {
    const statuses = (method: string, path: string) => Object.keys(operation(served, method, path).responses ?? {}).sort();
    expect(statuses('get', '/cursor-runner/requests/{id}')).toEqual(expect.arrayContaining(['414', '503']));
    expect(statuses('get', '/cursor-runner/git/repositories')).not.toContain('502');
    expect(statuses('get', '/cursor-runner/repositories/{repository}/files')).toContain('502');
  });

  it('documents the Retry-After header of the 503 every shared-database write answers while another process holds the lock', () => {
    for (const [method, route] of [
      ['put', '/settings/{name}'],
      ['delete', '/settings/{name}'],
      ['post', '/telegram/bots'],
      ['patch', '/telegram/bots/{id}'],
    ]) {
      expect([method, route, operation(served, method, route).responses['503']?.headers]).toEqual([
        method,
        route,
        expect.objectContaining({ 'Retry-After': expect.objectContaining({ schema: { type: 'string' } }) }),
      ]);
    }
  });

  it('documents 414 on every operation with a path parameter, which Fastify refuses over 100 characters', async () => {
    const withPathParameters = operations(served).filter(({ operation: found }) =>
      ((found as { parameters?: { in: string }[] }).parameters ?? []).some((parameter) => parameter.in === 'path'),
    );
    expect(withPathParameters.length).toBeGreaterThanOrEqual(5);
    for (const { method, route, operation: found } of withPathParameters) {
      const path = route.replace(/\{[^}]+\}/g, 'x'.repeat(101));
      const answer = await request(app.baseUrl)[method as 'get'](path).set('X-Admin-Secret', SECRET);
      expect([method, route, answer.status]).toEqual([method, route, 414]);
      expect([method, route, Object.keys(found.responses)]).toEqual([method, route, expect.arrayContaining(['414'])]);
      expect(answer.body).toEqual({ ok: false, say: 'The request path is not valid: a path segment is too long.', result: { error: 'URI Too Long' } });
    }
  });

  it('closes every DTO body to properties it does not declare, as the validation pipe refuses them', () => {
    const closed = Object.entries(served.components?.schemas ?? {})
      .filter(([, schema]) => (schema as { additionalProperties?: boolean }).additionalProperties === false)
      .map(([name]) => name);
    expect(closed.sort()).toEqual(
      ['CreateTelegramBotDto', 'ExecuteRequestDto', 'InvalidateCacheDto', 'SetWebhookDto', 'UpdateSettingDto', 'UpdateTelegramBotDto'].sort(),
    );
    // Admin routes take their secret in the body too.
    for (const name of closed) {
      expect(served.components?.schemas?.[name]).toMatchObject({ properties: { admin_secret: { type: 'string', writeOnly: true } } });
    }
  });
});

describe('the response contract check', () => {
  it('refuses a body its schema does not allow, an undocumented status and an unknown route', async () => {
    const document = await openApiDocument();
    const json = 'application/json; charset=utf-8';
    const answer = (route: string, status: number, body: unknown) => ({
      method: 'GET',
      route,
      status,
      contentType: json,
      body: JSON.stringify(body),
    });
    expect(contractViolations(document, [answer('/settings/:name', 200, { name: 'debug', enabled: false })])).toEqual([]);
    const violations = contractViolations(document, [
      answer('/settings/:name', 200, { name: 'debug', enabled: 'no' }),
      answer('/settings/:name', 418, { ok: false }),
      answer('/nowhere', 200, {}),
      answer('/settings/:name', 401, { error: 'Unauthorized' }),
    ]);
    expect(violations).toEqual([
      expect.stringMatching(/^GET \/settings\/:name → 200: 3\.1\.0 schema refuses .*enabled/),
      'GET /settings/:name → 418: the status is not documented for the route',
      'GET /nowhere → 200: the route is not in the document',
      expect.stringMatching(/^GET \/settings\/:name → 401: 3\.1\.0 schema refuses/),
    ]);
  });
});

describe('DOCS_ENABLED=false', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ env: { DOCS_ENABLED: 'false' } });
  });
  afterAll(() => app.close());

  it('serves neither the document nor the page', async () => {
    await request(app.baseUrl).get('/openapi.json').expect(404);
    await request(app.baseUrl).get('/docs').expect(404);
    expect(app.routes.filter(({ url }) => url === '/openapi.json' || url.startsWith('/docs'))).toEqual([]);
  });
});

describe('npm run openapi', () => {
  it('writes the document to a file with no Redis reachable and no listener', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'openapi-cli-')), 'api.json');
    const { stdout } = await run('npm', ['run', '--silent', 'openapi', '--', file], {
      cwd: path.join(__dirname, '..'),
      // A Redis URL nothing listens on: generating the document must not try it.
      env: { ...process.env, REDIS_URL: 'redis://127.0.0.1:1', PORT: '1', NODE_ENV: 'test' },
    });
    expect(stdout).toMatch(/^Wrote the OpenAPI 3\.1\.0 document \(\d+ paths\) to /);
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual(JSON.parse(JSON.stringify(await openApiDocument())));
  }, 120_000);
});
