import { applyDecorators, HttpStatus } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import type { ErrorShape } from './error-shape';

/**
 * JSON Schemas of the error bodies, one per {@link ErrorShape}, as the OpenAPI document's
 * components. The document builder attaches the route family's schema to every error status a
 * route declares, so a controller names statuses and never a shape.
 */
export const ERROR_SCHEMAS: Record<string, SchemaObject> = {
  ErrorBody: {
    type: 'object',
    description: 'The error shape of every route but the cursor-runner callback.',
    required: ['ok', 'say', 'result'],
    properties: {
      ok: { enum: [false] },
      say: { type: 'string', description: 'A sentence for a person saying what was wrong.' },
      result: {
        type: 'object',
        required: ['error'],
        properties: {
          error: { type: 'string', description: 'The short reason, e.g. `Bad Request`.' },
          fields: {
            type: 'array',
            description: 'Each field that failed validation.',
            items: {
              type: 'object',
              required: ['field', 'message'],
              properties: { field: { type: 'string' }, message: { type: 'string' } },
            },
          },
          request_id: { type: 'string', description: 'On a 500: the request id to look up in the log.' },
        },
      },
    },
  },
  ErrorOnlyBody: {
    type: 'object',
    description: 'The error shape of `POST /cursor-runner/callback`, whose caller is cursor-runner.',
    required: ['error'],
    properties: { error: { type: 'string', description: 'A sentence saying what was wrong.' } },
  },
};

/** The component each route family's errors use. */
export const ERROR_SCHEMA_OF: Record<ErrorShape, string> = { say: 'ErrorBody', 'error-only': 'ErrorOnlyBody' };

/**
 * Error statuses a route answers besides the ones every route of its kind has (400 for bad input,
 * 401 from its guard, 413/415 for a body, 500), each with what it means. The body schema is the
 * route family's ({@link ERROR_SCHEMAS}), filled in by the document builder.
 *
 * @example
 *   @ApiErrors({ 404: 'No bot has this id.', 409: 'The name, token or secret is taken.' })
 */
export function ApiErrors(statuses: Partial<Record<HttpStatus, string>>): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...Object.entries(statuses).map(([status, description]) => ApiResponse({ status: Number(status), description })),
  );
}

/**
 * A route that writes the shared SQLite file answers 503 with `Retry-After` while another process
 * holds its write lock (AllExceptionsFilter): the document says so.
 */
export function ApiWritesSharedDatabase(): MethodDecorator {
  return ApiResponse({
    status: HttpStatus.SERVICE_UNAVAILABLE,
    description: "Another process holds the shared database's write lock: nothing was changed; try again after `Retry-After` seconds.",
    headers: { 'Retry-After': { description: 'Seconds to wait before trying again: 1.', schema: { type: 'string' } } },
  });
}
