import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';

const CHECKS_SCHEMA: SchemaObject = {
  type: 'object',
  additionalProperties: { type: 'object', required: ['status'], properties: { status: { enum: ['up', 'down'] } } },
};

/** A Terminus report: `ok` with every check up, `error` naming the checks that are down. */
export const HEALTH_CHECK_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['status', 'details'],
  properties: {
    status: { enum: ['ok', 'error', 'shutting_down'] },
    info: CHECKS_SCHEMA,
    error: CHECKS_SCHEMA,
    details: CHECKS_SCHEMA,
  },
};

const count = { type: 'integer', minimum: 0 } as const;

/** `GET /health`: the readiness report plus service, version and the cache's totals. */
export const HEALTH_REPORT_SCHEMA: SchemaObject = {
  ...HEALTH_CHECK_SCHEMA,
  required: ['status', 'service', 'version', 'details', 'cache'],
  properties: {
    ...HEALTH_CHECK_SCHEMA.properties,
    service: { type: 'string' },
    version: { type: 'string' },
    cache: {
      type: 'object',
      required: ['l2Configured', 'circuit', 'hitRate'],
      properties: {
        l2Configured: { type: 'boolean' },
        circuit: { enum: ['closed', 'open', 'half-open', 'disabled'] },
        ...Object.fromEntries(
          ['circuitOpenings', 'pendingInvalidations', 'namespaces', 'l1Entries', 'l1Hits', 'l2Hits', 'misses', 'l2Errors'].map(
            (name) => [name, count],
          ),
        ),
        hitRate: { type: 'number', minimum: 0, maximum: 1 },
      },
    },
  },
};

export const SERVICE_STATUS_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['status', 'service', 'version'],
  properties: { status: { enum: ['healthy'] }, service: { type: 'string' }, version: { type: 'string' } },
};
