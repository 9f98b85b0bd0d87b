import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { SQLITE_TIMESTAMP_SCHEMA } from '@app/prisma';

/** A `SettingRecord` as the routes answer it. */
export const SETTING_RECORD_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['name', 'enabled', 'updated_at'],
  properties: {
    name: { type: 'string' },
    enabled: { type: 'boolean' },
    updated_at: SQLITE_TIMESTAMP_SCHEMA,
  },
};

export const SETTINGS_LIST_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['settings'],
  properties: { settings: { type: 'array', items: SETTING_RECORD_SCHEMA } },
};

export const SETTING_STATE_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['name', 'enabled'],
  properties: { name: { type: 'string' }, enabled: { type: 'boolean', description: 'false when no row exists.' } },
};

export const SETTING_DELETED_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['name', 'deleted'],
  properties: { name: { type: 'string' }, deleted: { type: 'boolean', description: 'false when no row existed.' } },
};
