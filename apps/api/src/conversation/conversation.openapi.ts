import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';

/** A Telegram `Update` (docs/telegram.md, "Updates"): only `update_id` is always there. */
export const TELEGRAM_UPDATE_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['update_id'],
  properties: {
    update_id: { type: 'integer' },
    message: { type: 'object' },
    edited_message: { type: 'object' },
    callback_query: { type: 'object' },
  },
};

/** What cursor-runner posts; `requestId` or `request_id` names the pending request. */
export const CALLBACK_BODY_SCHEMA: SchemaObject = {
  type: 'object',
  properties: {
    success: { type: 'boolean' },
    requestId: { type: 'string' },
    request_id: { type: 'string' },
    repository: { type: 'string' },
    branchName: { type: 'string' },
    branch_name: { type: 'string' },
    iterations: { type: 'integer' },
    maxIterations: { type: 'integer' },
    max_iterations: { type: 'integer' },
    output: { type: 'string' },
    error: { type: 'string' },
    exitCode: { type: 'integer' },
    exit_code: { type: 'integer' },
    duration: {},
    timestamp: { type: 'string' },
  },
};

export const CALLBACK_ANSWER_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['received'],
  properties: {
    received: { enum: [true] },
    request_id: { type: 'string' },
    message: {
      enum: ['Request not found', 'Already being delivered'],
      description: 'Absent when the result was accepted for delivery.',
    },
  },
};

export const CALLBACK_UNAVAILABLE_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['received', 'error'],
  properties: { received: { enum: [false] }, error: { type: 'string' }, request_id: { type: 'string' } },
};
