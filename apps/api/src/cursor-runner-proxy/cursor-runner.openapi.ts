import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';

/** cursor-runner's JSON as it sent it; `success` decides 200 or 422, the rest depends on the route. */
export const CURSOR_RUNNER_REPLY_SCHEMA: SchemaObject = {
  type: 'object',
  properties: {
    success: { type: 'boolean' },
    requestId: { type: 'string' },
    output: { type: 'string' },
    error: { type: 'string' },
    exitCode: { type: 'integer' },
    message: { type: 'string' },
  },
};

/** 502: cursor-runner gave no usable answer (down, timed out, not JSON, an HTTP error). */
export const CURSOR_RUNNER_FAILURE_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['success', 'error'],
  properties: { success: { enum: [false] }, error: { type: 'string' } },
};

export const REPOSITORIES_SCHEMA: SchemaObject = {
  type: 'object',
  properties: {
    success: { type: 'boolean' },
    repositories: { type: 'array', items: { type: 'string' } },
    count: { type: 'integer', minimum: 0 },
  },
};
