import type { OpenAPIObject } from '@nestjs/swagger';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '@app/config';
import { generateOpenApiDocument, UNDOCUMENTED_ROUTES } from '../../apps/api/src/openapi';

let contract: Promise<OpenAPIObject> | undefined;

/** The application's OpenAPI document, generated once per test file as `npm run openapi` does. */
export function openApiDocument(): Promise<OpenAPIObject> {
  contract ??= generateOpenApiDocument(loadConfig({ NODE_ENV: 'test' }));
  return contract;
}

/** `/telegram/bots/:id` → `/telegram/bots/{id}`. */
export const toPathTemplate = (url: string): string => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

/** Why a mapped route is not in the document, or undefined when it must be. */
export const undocumentedReason = (url: string): string | undefined =>
  UNDOCUMENTED_ROUTES.find((route) => url.startsWith(route.prefix))?.reason;

/** One response the app sent, as the contract check needs it. */
export interface RecordedResponse {
  method: string;
  /** The route's URL pattern as Fastify matched it (`/settings/:name`); undefined when none matched. */
  route: string | undefined;
  status: number;
  contentType: string;
  /** The body when it was sent as text or bytes (a stream is not read). */
  body: string | undefined;
}

/** Records every response an app sends, in an `onSend` hook, for {@link contractViolations}. */
export function recordResponses(fastify: FastifyInstance): RecordedResponse[] {
  const recorded: RecordedResponse[] = [];
  fastify.addHook('onSend', (request, reply, payload, done) => {
    recorded.push({
      method: request.method,
      route: request.routeOptions.url,
      status: reply.statusCode,
      contentType: String(reply.getHeader('content-type') ?? ''),
      body: typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : undefined,
    });
    done(null, payload);
  });
  return recorded;
}

const pointerSegment = (segment: string): string => segment.replace(/~/g, '~0').replace(/\//g, '~1');

/** Validators of the document's response schemas, compiled once per document. */
class ResponseSchemas {
  private readonly ajv = new Ajv2020({ strict: false, validateSchema: false, allErrors: true });
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(readonly document: OpenAPIObject) {
    addFormats(this.ajv);
    this.ajv.addSchema({ ...document, $id: 'openapi.json' });
  }

  validator(path: string, method: string, status: string): ValidateFunction {
    const pointer = ['paths', path, method, 'responses', status, 'content', 'application/json', 'schema'].map(pointerSegment).join('/');
    let validate = this.compiled.get(pointer);
    if (!validate) {
      validate = this.ajv.compile({ $ref: `openapi.json#/${pointer}` });
      this.compiled.set(pointer, validate);
    }
    return validate;
  }
}

const schemasByDocument = new WeakMap<OpenAPIObject, ResponseSchemas>();

export interface ContractOptions {
  /** The app composes fixture modules whose routes are not part of the product's document. */
  hasFixtureRoutes?: boolean;
}

/**
 * What in `responses` disagrees with the document: a route it does not describe, a status the route
 * does not declare, a JSON body where none is documented, or a JSON body its schema refuses.
 */
export function contractViolations(
  document: OpenAPIObject,
  responses: readonly RecordedResponse[],
  options: ContractOptions = {},
): string[] {
  let schemas = schemasByDocument.get(document);
  if (!schemas) {
    schemas = new ResponseSchemas(document);
    schemasByDocument.set(document, schemas);
  }
  const violations: string[] = [];
  for (const response of responses) {
    if (response.route === undefined || response.method === 'HEAD' || undocumentedReason(response.route)) continue;
    const path = toPathTemplate(response.route);
    const method = response.method.toLowerCase();
    const operation = (document.paths[path] as Record<string, { responses?: Record<string, { content?: object }> }> | undefined)?.[method];
    const where = `${response.method} ${response.route} → ${response.status}`;
    if (!operation) {
      if (!options.hasFixtureRoutes) violations.push(`${where}: the route is not in the document`);
      continue;
    }
    const documented = operation.responses?.[String(response.status)];
    if (!documented) {
      violations.push(`${where}: the status is not documented for the route`);
      continue;
    }
    if (!/^application\/json\b/.test(response.contentType) || response.body === undefined || response.body === '') continue;
    if (!(documented.content && 'application/json' in documented.content)) {
      violations.push(`${where}: a JSON body where the document describes none`);
      continue;
    }
    let body: unknown;
    try {
      body = JSON.parse(response.body);
    } catch {
      violations.push(`${where}: the body is not JSON although its type says so`);
      continue;
    }
    const validate = schemas.validator(path, method, String(response.status));
    if (!validate(body)) {
      violations.push(`${where}: ${schemas.document.openapi} schema refuses ${response.body.slice(0, 300)}: ${JSON.stringify(validate.errors?.slice(0, 3))}`);
    }
  }
  return [...new Set(violations)];
}

type SchemaNode = { $ref?: string; properties?: Record<string, unknown>; oneOf?: unknown[]; anyOf?: unknown[]; allOf?: unknown[] };

/**
 * Every name a request can carry according to the document: the properties of each request body
 * (with `oneOf` alternatives and component references followed) and each parameter's name.
 */
export function requestFieldNames(document: OpenAPIObject): string[] {
  const names = new Set<string>();
  const visit = (node: unknown): void => {
    if (!node || typeof node !== 'object') return;
    const schema = node as SchemaNode;
    if (schema.$ref) return visit(document.components?.schemas?.[schema.$ref.split('/').pop() ?? '']);
    for (const [name, property] of Object.entries(schema.properties ?? {})) {
      names.add(name);
      visit(property);
    }
    for (const alternative of [...(schema.oneOf ?? []), ...(schema.anyOf ?? []), ...(schema.allOf ?? [])]) visit(alternative);
  };
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item) as { parameters?: { name: string }[]; requestBody?: { content?: Record<string, { schema?: unknown }> } }[]) {
      for (const parameter of operation.parameters ?? []) names.add(parameter.name);
      for (const media of Object.values(operation.requestBody?.content ?? {})) visit(media.schema);
    }
  }
  return [...names].sort();
}
