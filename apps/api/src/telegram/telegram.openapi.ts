import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { SQLITE_TIMESTAMP_SCHEMA } from '@app/prisma';

/** A `telegram_bots` row as the routes show it: never its token or webhook secret. */
export const TELEGRAM_BOT_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['id', 'name', 'bot_type', 'active', 'created_at', 'updated_at'],
  properties: {
    id: { type: 'integer', minimum: 1 },
    name: { type: 'string' },
    bot_type: { type: 'string' },
    active: { type: 'boolean' },
    created_at: SQLITE_TIMESTAMP_SCHEMA,
    updated_at: SQLITE_TIMESTAMP_SCHEMA,
  },
};

/** Telegram's answer as it sent it, or null when no bot token is configured. */
const telegramAnswer = (result: SchemaObject): SchemaObject => ({
  oneOf: [
    {
      type: 'object',
      required: ['ok', 'result'],
      properties: { ok: { enum: [true] }, result, description: { type: 'string' } },
    },
    { type: 'null' },
  ],
});

export const SET_WEBHOOK_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['ok', 'message', 'webhook_info'],
  properties: { ok: { enum: [true] }, message: { type: 'string' }, webhook_info: telegramAnswer({ type: 'boolean' }) },
};

export const WEBHOOK_INFO_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['ok', 'webhook_info'],
  properties: {
    ok: { enum: [true] },
    webhook_info: telegramAnswer({
      type: 'object',
      required: ['url', 'has_custom_certificate', 'pending_update_count'],
      properties: {
        url: { type: 'string' },
        has_custom_certificate: { type: 'boolean' },
        pending_update_count: { type: 'integer' },
      },
    }),
  },
};

export const WEBHOOK_DELETED_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['ok', 'message'],
  properties: { ok: { enum: [true] }, message: { type: 'string' } },
};

/** 502: Telegram failed or could not be reached. */
export const TELEGRAM_UPSTREAM_ERROR_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['ok', 'error'],
  properties: { ok: { enum: [false] }, error: { type: 'string' } },
};
