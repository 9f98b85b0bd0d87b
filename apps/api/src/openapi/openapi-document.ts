import type { INestApplicationContext, Type } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import type {
  OperationObject,
  RequestBodyObject,
  ResponseObject,
  SecurityRequirementObject,
  SecuritySchemeObject,
} from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import type { AppConfig } from '@app/config';
import { AdminSecretGuard, ERROR_SCHEMA_OF, ERROR_SCHEMAS } from '@app/http';
import { CallbackSecretGuard, TelegramWebhookGuard } from '../conversation';
import { QUEUE_BOARD_PATHS, QUEUE_BOARD_SECURITY_SCHEMES, QUEUE_BOARD_UNDOCUMENTED } from '../queue-board';
import { AgentToolsSecretGuard, toolCallSchema } from '../tools';
import { controllerRoutes, type ControllerRoute } from './controller-routes';

/** Where the document and its page are served (when `DOCS_ENABLED`). */
export const OPENAPI_JSON_PATH = '/openapi.json';
export const DOCS_PATH = '/docs';

const SECURITY_SCHEMES: Record<string, SecuritySchemeObject> = {
  adminSecretHeader: { type: 'apiKey', in: 'header', name: 'X-Admin-Secret', description: 'WEBHOOK_SECRET' },
  adminSecretQuery: { type: 'apiKey', in: 'query', name: 'admin_secret', description: 'WEBHOOK_SECRET' },
  toolsSecretHeader: { type: 'apiKey', in: 'header', name: 'X-EL-Secret', description: 'WEBHOOK_SECRET' },
  toolsBearer: { type: 'http', scheme: 'bearer', description: 'WEBHOOK_SECRET as the bearer token' },
  telegramSecretToken: {
    type: 'apiKey',
    in: 'header',
    name: 'X-Telegram-Bot-Api-Secret-Token',
    description: "An active bot's webhook secret, or TELEGRAM_WEBHOOK_SECRET",
  },
  callbackSecretHeader: { type: 'apiKey', in: 'header', name: 'X-Webhook-Secret', description: 'WEBHOOK_SECRET' },
  callbackRunnerSecretHeader: { type: 'apiKey', in: 'header', name: 'X-Cursor-Runner-Secret', description: 'WEBHOOK_SECRET' },
  callbackSecretQuery: { type: 'apiKey', in: 'query', name: 'secret', description: 'WEBHOOK_SECRET' },
  ...QUEUE_BOARD_SECURITY_SCHEMES,
};

/** The security of a route, by the guard that enforces it: any one alternative is enough. */
const SECURITY_OF_GUARD = new Map<Type, SecurityRequirementObject[]>([
  [AdminSecretGuard, [{ adminSecretHeader: [] }, { adminSecretQuery: [] }]],
  [AgentToolsSecretGuard, [{ toolsSecretHeader: [] }, { toolsBearer: [] }]],
  [TelegramWebhookGuard, [{ telegramSecretToken: [] }]],
  [CallbackSecretGuard, [{ callbackSecretHeader: [] }, { callbackRunnerSecretHeader: [] }, { callbackSecretQuery: [] }]],
]);

/** Mapped routes the document leaves out on purpose, each with the reason. */
export const UNDOCUMENTED_ROUTES: readonly { prefix: string; reason: string }[] = [
  QUEUE_BOARD_UNDOCUMENTED,
  { prefix: `${DOCS_PATH}/`, reason: 'the Swagger UI files behind GET /docs (scripts, styles, images)' },
  { prefix: '*', reason: "CORS preflights (OPTIONS on any path, with CORS_ENABLED), answered by @fastify/cors: not an operation of the API" },
];

const header = (description: string) => ({ description, schema: { type: 'string' as const } });

const REQUEST_ID_HEADER = header('The request id: the caller\'s acceptable `X-Request-Id`, else a new one (`<16 hex digits>-<sequence number>`).');
const CACHE_HEADERS = {
  'X-Cache': header('`HIT` or `MISS`: whether the answer came from the cache.'),
  ETag: header('Validator of the cached body; send it back as `If-None-Match` for a 304.'),
};

/** Statuses every route of a kind answers, added where a controller does not describe them. */
function standardErrors(route: ControllerRoute, operation: OperationObject): Record<number, string> {
  const errors: Record<number, string> = {};
  // Fastify parses a body sent with any of these methods, DELETE included, and can refuse it.
  const takesBody = ['post', 'put', 'patch', 'delete'].includes(route.method);
  if (takesBody || (operation.parameters ?? []).length > 0) {
    errors[400] = 'The request is not valid; the body names what was wrong.';
  }
  if (route.guards.length > 0) errors[401] = 'The credentials are missing or wrong.';
  if ((operation.parameters ?? []).some((parameter) => 'in' in parameter && parameter.in === 'path')) {
    errors[414] = "A path parameter is over 100 characters (Fastify's `maxParamLength`): refused before the route runs.";
  }
  if (takesBody) {
    errors[413] = 'The body is larger than BODY_LIMIT_BYTES.';
    errors[415] = 'The body is of a type the route does not read.';
  }
  errors[500] = 'An unexpected error; the body carries the request id.';
  return errors;
}

function securityOf(route: ControllerRoute): SecurityRequirementObject[] | undefined {
  if (route.guards.length === 0) return undefined;
  return route.guards.flatMap((guard) => {
    const security = SECURITY_OF_GUARD.get(guard);
    if (!security) throw new Error(`The OpenAPI document has no security scheme for guard ${guard.name}`);
    return security;
  });
}

/** Adds to a scanned operation what the route's decorators imply but swagger's scanner does not see. */
function complete(operation: OperationObject, route: ControllerRoute): void {
  const security = securityOf(route);
  if (security) operation.security = security;
  const responses = operation.responses as Record<string, ResponseObject>;
  for (const [status, description] of Object.entries(standardErrors(route, operation))) {
    responses[status] ??= { description };
  }
  if (route.cached) {
    responses[304] ??= { description: 'Not modified: the `If-None-Match` matched the cached ETag. No body.' };
    for (const status of ['200', '304']) {
      if (responses[status]) responses[status].headers = { ...responses[status].headers, ...CACHE_HEADERS };
    }
  }
  for (const [status, response] of Object.entries(responses)) {
    if (Number(status) >= 400 && !response.content) {
      response.content = { 'application/json': { schema: { $ref: `#/components/schemas/${ERROR_SCHEMA_OF[route.errorShape]}` } } };
    }
  }
}

function addRequestIdHeaders(document: OpenAPIObject): void {
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item) as OperationObject[]) {
      for (const response of Object.values(operation.responses ?? {}) as ResponseObject[]) {
        response.headers = { 'X-Request-Id': REQUEST_ID_HEADER, ...response.headers };
      }
    }
  }
}

/** What an admin route's body may carry besides its DTO's fields (AdminSecretGuard reads it). */
const ADMIN_SECRET_PROPERTY = { type: 'string', writeOnly: true, description: 'WEBHOOK_SECRET, in place of the X-Admin-Secret header' } as const;

/**
 * A DTO body refuses a property it does not declare (the app's validation pipe): its schema says so,
 * so a client validating against the document finds a typo before the server does. An admin
 * route's body also names `admin_secret`, which the pipe takes as the credential it is.
 */
function closeDtoBodies(document: OpenAPIObject): void {
  const schemas = document.components?.schemas ?? {};
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item) as OperationObject[]) {
      const content = (operation.requestBody as RequestBodyObject | undefined)?.content ?? {};
      const admin = operation.security?.some((requirement) => 'adminSecretHeader' in requirement) ?? false;
      for (const { schema } of Object.values(content)) {
        const name = schema && '$ref' in schema ? schema.$ref.replace('#/components/schemas/', '') : undefined;
        const dto = name ? schemas[name] : undefined;
        if (!dto || '$ref' in dto) continue;
        dto.additionalProperties = false;
        if (admin) dto.properties = { ...dto.properties, admin_secret: ADMIN_SECRET_PROPERTY };
      }
    }
  }
}

const DOCS_PATHS: OpenAPIObject['paths'] = {
  [OPENAPI_JSON_PATH]: {
    get: {
      tags: ['docs'],
      operationId: 'Docs_document',
      summary: 'This OpenAPI 3.1 document (served when DOCS_ENABLED)',
      responses: { 200: { description: 'The document.', content: { 'application/json': { schema: { type: 'object' } } } } },
    },
  },
  [DOCS_PATH]: {
    get: {
      tags: ['docs'],
      operationId: 'Docs_page',
      summary: 'Swagger UI for this document (served when DOCS_ENABLED)',
      responses: { 200: { description: 'The page.', content: { 'text/html': { schema: { type: 'string' } } } } },
    },
  },
};

/**
 * The OpenAPI 3.1 document of every route the application maps: Nest's controllers as
 * `@nestjs/swagger` scans them, completed from the routes' own guards, caching and error shape,
 * plus the routes mounted on Fastify directly (the queue dashboard, the docs themselves).
 * Needs no instance: an application created with `preview: true` is enough.
 */
export function buildOpenApiDocument(app: INestApplicationContext, config: AppConfig): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setOpenAPIVersion('3.1.0')
    .setTitle(config.app.name)
    .setVersion(config.app.version)
    .setDescription(
      'Telegram virtual assistant API. Errors are `ErrorBody` (`{ok:false, say, result:{error}}`) except on ' +
        '`POST /cursor-runner/callback` (`{error}`). Every response carries `X-Request-Id`, but those to bytes Node cannot ' +
        'read as a request (431 headers too large, 400 not HTTP), answered before a request exists.',
    );
  for (const [name, scheme] of Object.entries(SECURITY_SCHEMES)) builder.addSecurity(name, scheme);
  const document = SwaggerModule.createDocument(app as never, builder.build(), {
    operationIdFactory: (controller, method) => `${controller.replace(/Controller$/, '')}_${method}`,
  });
  document.components = { ...document.components, schemas: { ...ERROR_SCHEMAS, ...document.components?.schemas } };
  for (const route of controllerRoutes(app)) {
    const operation = (document.paths[route.path] as Record<string, OperationObject> | undefined)?.[route.method];
    if (!operation) throw new Error(`@nestjs/swagger did not scan ${route.method.toUpperCase()} ${route.path}`);
    complete(operation, route);
  }
  const toolCall = document.paths['/agent-tools']?.post;
  if (toolCall) toolCall.requestBody = { required: true, content: { 'application/json': { schema: toolCallSchema(app) } } };
  closeDtoBodies(document);
  Object.assign(document.paths, QUEUE_BOARD_PATHS, DOCS_PATHS);
  addRequestIdHeaders(document);
  return document;
}
