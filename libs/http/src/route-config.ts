/** Where `@RouteConfig` of @nestjs/platform-fastify keeps a route's Fastify `config` (its package does not export the name). */
const FASTIFY_ROUTE_CONFIG_METADATA = '__fastify_route_config__';

/**
 * Adds entries to a route's Fastify `config`, keeping those other decorators put there:
 * `@RouteConfig` replaces the whole object, so two of them on one route would lose one.
 */
export const AddRouteConfig =
  (entries: Record<string, unknown>): MethodDecorator =>
  (_target, _key, descriptor) => {
    const handler = descriptor.value as object;
    const existing = (Reflect.getMetadata(FASTIFY_ROUTE_CONFIG_METADATA, handler) ?? {}) as Record<string, unknown>;
    Reflect.defineMetadata(FASTIFY_ROUTE_CONFIG_METADATA, { ...existing, ...entries }, handler);
    return descriptor;
  };
