import type { FastifyInstance } from 'fastify';
import FindMyWay, { type HTTPMethod } from 'find-my-way';

/** Every route's path by method, in a router of its own: Fastify's answers only "no route" for a method and a path. */
interface RouteMethods {
  router: FindMyWay.Instance<FindMyWay.HTTPVersion.V1>;
  methods: Set<string>;
}

const routeMethodsByApp = new WeakMap<FastifyInstance, RouteMethods>();

const noHandler = (): void => undefined;

/**
 * Records, as Fastify registers them, which methods each route path takes, so that a request whose
 * path exists under other methods only is answered 405 with an `Allow` header (RFC 9110, 15.5.6)
 * rather than the 404 of a path that does not exist. A route kept from some requests by a
 * constraint (a worker's feature routes, docs/operations.md) is not recorded: its path does not
 * exist for them; nor is a route for every path (CORS preflights' `OPTIONS *`), which would make
 * every unknown path a 405. Install after every `onRoute` hook that adds constraints and before Nest registers
 * its routes.
 */
export function installMethodNotAllowed(fastify: FastifyInstance): void {
  // Fastify's router defaults: case-sensitive paths, a trailing slash significant, parameters up to 100 characters.
  const routeMethods: RouteMethods = { router: FindMyWay(), methods: new Set() };
  routeMethodsByApp.set(fastify, routeMethods);
  fastify.addHook('onRoute', (route) => {
    if (route.url === '*' || route.url === '/*') return;
    if (route.constraints !== undefined && Object.keys(route.constraints).length > 0) return;
    for (const method of [route.method].flat()) {
      if (routeMethods.router.hasRoute(method as HTTPMethod, route.url)) continue;
      routeMethods.router.on(method as HTTPMethod, route.url, noHandler);
      routeMethods.methods.add(method);
    }
  });
}

/**
 * The methods the path of `url` is served with, sorted; empty when the path exists under no method
 * or the app has no record of its routes.
 */
export function methodsAllowedOn(fastify: FastifyInstance, url: string): string[] {
  const routeMethods = routeMethodsByApp.get(fastify);
  if (routeMethods === undefined) return [];
  return [...routeMethods.methods].filter((method) => routeMethods.router.find(method as HTTPMethod, url) !== null).sort();
}
