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
 * The methods the path of `url` is served with, sorted, for a request Fastify found no route for
 * under `method`; empty when the path exists under no method, when the request target is not a
 * path (`*`, an absolute URL), or when this router would have matched `method` itself — Fastify then
 * refused the path for a reason of its own (an empty parameter: `/telegram/bots/`), and it is a 404.
 */
export function methodsAllowedOn(fastify: FastifyInstance, method: string, url: string): string[] {
  const routeMethods = routeMethodsByApp.get(fastify);
  if (routeMethods === undefined || !url.startsWith('/')) return [];
  const allowed = [...routeMethods.methods].filter((candidate) => routeMethods.router.find(candidate as HTTPMethod, url) !== null).sort();
  return allowed.includes(method) ? [] : allowed;
}
