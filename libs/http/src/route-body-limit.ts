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
    // eslint-disable-next-line @typescript-eslint/restrict-template-expressions, @typescript-eslint/no-base-to-string -- the message names whatever the route declared
    if (limit === undefined) throw new Error(`Route ${route.method} ${route.url} names an unknown body limit: ${String(name)}`);
    route.bodyLimit = limit;
  });
}
