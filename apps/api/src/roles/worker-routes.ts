import type { FastifyInstance } from 'fastify';
import { type AppRole, servesFeatureRoutes } from '@app/config';

/** What a worker answers on its port: its probes and the Prometheus scrape. */
export const WORKER_ROUTES: readonly string[] = ['/health', '/health/live', '/health/ready', '/metrics'];

type ConstraintStorage = ReturnType<Parameters<FastifyInstance['addConstraintStrategy']>[0]['storage']>;
type RouterHandler = NonNullable<ReturnType<ConstraintStorage['get']>>;

/** The Fastify route constraint that keeps feature routes out of a worker's router. */
const SERVED_BY = 'servedBy';

/**
 * Keeps a worker's HTTP surface to {@link WORKER_ROUTES}. The worker composes the same feature
 * modules as the API (its jobs need their services), so Nest maps their controllers too; each such
 * route is registered under a constraint no request of a worker satisfies, so Fastify's router
 * never matches it and the request gets the ordinary 404 of an unknown route. Install before Nest
 * registers its routes; a no-op for the other roles.
 */
export function installRoleRoutes(fastify: FastifyInstance, role: AppRole): void {
  if (servesFeatureRoutes(role)) return;
  fastify.addConstraintStrategy({
    name: SERVED_BY,
    storage: (): ConstraintStorage => {
      const handlers = new Map<unknown, RouterHandler>();
      return {
        get: (value) => handlers.get(value) ?? null,
        set: (value, handler) => void handlers.set(value, handler),
      };
    },
    deriveConstraint: () => role,
    mustMatchWhenDerived: false,
  });
  fastify.addHook('onRoute', (route) => {
    if (WORKER_ROUTES.includes(route.url ?? '')) return;
    route.constraints = { ...route.constraints, [SERVED_BY]: 'api' };
  });
}
