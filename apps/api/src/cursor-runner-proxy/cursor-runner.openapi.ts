import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';

const orNull = (schema: SchemaObject): SchemaObject => ({ oneOf: [schema, { type: 'null' }] });

/**
 * cursor-runner's JSON as it sent it: `success` decides 200 or 422; which other fields come, and
 * whether as null, is cursor-runner's to say, so they are described and not closed.
 */
export const CURSOR_RUNNER_REPLY_SCHEMA: SchemaObject = {
  type: 'object',
  properties: {
    success: { type: 'boolean' },
    requestId: { type: 'string' },
    repository: orNull({ type: 'string' }),
    output: orNull({ type: 'string' }),
    error: orNull({ type: 'string' }),
    exitCode: orNull({ type: 'integer' }),
    message: { type: 'string' },
    duration: { description: 'How long the run took, as cursor-runner words it (e.g. `5ms`).' },
    timestamp: { type: 'string' },
  },
};

/** 502: cursor-runner gave no usable answer (down, timed out, not JSON, an HTTP error). */
export const CURSOR_RUNNER_FAILURE_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['success', 'error'],
  properties: { success: { enum: [false] }, error: { type: 'string' } },
};

/** One node of cursor-runner's file tree: a file, or a directory with its children. */
const FILE_NODE_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['name', 'path', 'type'],
  properties: {
    name: { type: 'string' },
    path: { type: 'string', description: "Relative to the repository's folder." },
    type: { enum: ['file', 'directory'] },
    children: { type: 'array', items: { type: 'object' } },
  },
};

/** A repository's file tree as cursor-runner sends it: directories first, then files. */
export const FILE_TREE_SCHEMA: SchemaObject = { type: 'array', items: FILE_NODE_SCHEMA };

/** `GET /cursor-runner/requests/:id`: pending, or completed with the result as cursor-runner sent it. */
export const RUN_STATUS_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['requestId', 'status'],
  properties: {
    requestId: { type: 'string' },
    status: { enum: ['pending', 'completed'] },
    result: {
      type: 'object',
      description: "cursor-runner's callback fields as it sent them: success, exitCode, output, error, duration.",
    },
    receivedAt: { type: 'string' },
  },
};
