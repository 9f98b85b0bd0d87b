import type { FastifyInstance } from 'fastify';
import { AddRouteConfig } from './route-config';

/** The route config entry naming a route's own body limit. */
export const BODY_LIMIT_NAME = 'bodyLimitName';

/**
 * Gives a route a body limit of its own instead of the app's `BODY_LIMIT_BYTES`: the limit
 * registered under `name` with {@link installRouteBodyLimits}. Nest passes Fastify only a route's
 * `config`, not its `bodyLimit`, hence the indirection.
 */
export const BodyLimit = (name: string): MethodDecorator => AddRouteConfig({ [BODY_LIMIT_NAME]: name });

/**
 * Applies the {@link BodyLimit}s of the routes registered from now on: Fastify then refuses a
 * larger body of that route with 413 — its parsers' own limit gives way to a route's — and checks
 * nothing else differently. A name without a limit stops the app at startup.
 */
export function installRouteBodyLimits(fastify: FastifyInstance, limits: Readonly<Record<string, number>>): void {
  fastify.addHook('onRoute', (route) => {
    const name = (route.config as Record<string, unknown> | undefined)?.[BODY_LIMIT_NAME];
    if (name === undefined) return;
    const limit = typeof name === 'string' ? limits[name] : undefined;
    if (limit === undefined) {
      const method = [route.method].flat().join('|');
      throw new Error(`Route ${method} ${route.url} names an unknown body limit: ${JSON.stringify(name)}`);
    }
    route.bodyLimit = limit;
  });
}
