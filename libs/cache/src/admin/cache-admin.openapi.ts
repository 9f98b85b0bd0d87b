import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';

const count = { type: 'integer', minimum: 0 } as const;

const NAMESPACE_STATS_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['l1Hits', 'l2Hits', 'misses', 'size', 'maxEntries', 'hitRate'],
  properties: {
    ...Object.fromEntries(
      ['l1Hits', 'l2Hits', 'misses', 'staleServes', 'loads', 'loadErrors', 'l2Errors', 'sets', 'evictions', 'invalidations', 'size', 'maxEntries'].map(
        (name) => [name, count],
      ),
    ),
    hitRate: { type: 'number', minimum: 0, maximum: 1 },
  },
};

/** `GET /admin/cache/stats`: a `CacheOverview` and the instance that answered. */
export const CACHE_OVERVIEW_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['l2Configured', 'circuit', 'circuitOpenings', 'pendingInvalidations', 'namespaces', 'instance'],
  properties: {
    l2Configured: { type: 'boolean' },
    circuit: { enum: ['closed', 'open', 'half-open', 'disabled'] },
    circuitOpenings: count,
    pendingInvalidations: count,
    invalidationBus: { type: 'object', description: "The invalidation bus's report (transport, channel, counters)." },
    namespaces: { type: 'object', additionalProperties: NAMESPACE_STATS_SCHEMA },
    instance: {
      type: 'object',
      required: ['id', 'role'],
      description: 'The instance that answered (`INSTANCE_ID`, default the host name) and its `APP_ROLE`.',
      properties: { id: { type: 'string' }, role: { enum: ['all', 'api', 'worker'] } },
    },
  },
};

/** `GET /admin/cache/inventory`: a `CacheInventory`. */
export const CACHE_INVENTORY_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['namespaces', 'routes', 'methods'],
  properties: {
    namespaces: {
      type: 'array',
      items: {
        type: 'object',
        required: ['namespace', 'tiers', 'ttlMs'],
        properties: {
          namespace: { type: 'string' },
          tiers: { type: 'array', items: { type: 'string' } },
          ttlMs: count,
          l1TtlMs: count,
          graceMs: count,
          maxEntries: count,
          description: { type: 'string' },
        },
      },
    },
    routes: {
      type: 'array',
      items: {
        type: 'object',
        required: ['method', 'path', 'namespace'],
        properties: {
          method: { type: 'string' },
          path: { type: 'string' },
          namespace: { type: 'string' },
          ttlMs: { oneOf: [count, { enum: ['computed', 'namespace default'] }] },
          scope: { type: 'string' },
          tags: { oneOf: [{ type: 'array', items: { type: 'string' } }, { enum: ['computed'] }] },
          key: { type: 'string' },
          earlyHits: { enum: [true] },
        },
      },
    },
    methods: { type: 'array', items: { type: 'object' } },
  },
};
