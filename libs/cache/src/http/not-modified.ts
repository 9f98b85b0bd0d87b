import { FASTIFY_ROUTE_CONFIG_METADATA } from '@nestjs/platform-fastify/constants';
import type { FastifyInstance, FastifyReply, onSendHookHandler } from 'fastify';

const NOT_MODIFIED = Symbol('jarek-va.not-modified');

/** Key in a Fastify route's `config` of the routes that may answer 304 (see {@link installNotModified}). */
const NOT_MODIFIED_ROUTE = 'httpCacheNotModified';

type MarkedReply = FastifyReply & { [NOT_MODIFIED]?: boolean };

/** Asks for this response to go out as 304 with no body (see {@link installNotModified}). */
export function markNotModified(reply: FastifyReply): void {
  (reply as MarkedReply)[NOT_MODIFIED] = true;
}

/**
 * Gives the controller method's Fastify route the 304 hook, whatever other `@RouteConfig` it has.
 * Nest copies a method's route config into its Fastify route when it registers the route, so this
 * must run before that (when modules are instantiated).
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- any controller method
export function markNotModifiedRoute(handler: Function): void {
  const config = (Reflect.getMetadata(FASTIFY_ROUTE_CONFIG_METADATA, handler) ?? {}) as Record<string, unknown>;
  if (config[NOT_MODIFIED_ROUTE] === true) return;
  Reflect.defineMetadata(FASTIFY_ROUTE_CONFIG_METADATA, { ...config, [NOT_MODIFIED_ROUTE]: true }, handler);
}

/** A callback hook, not an async one: most answers of a cached route pass through untouched. */
const answerNotModified: onSendHookHandler = function answerNotModified(_request, reply, payload, done) {
  if (!(reply as MarkedReply)[NOT_MODIFIED] || reply.statusCode !== 200) return done(null, payload);
  reply.code(304);
  reply.removeHeader('content-length');
  reply.removeHeader('content-type');
  // No payload, not an empty one: Fastify gives a string payload its length, and a 304 may carry
  // `Content-Length` only as the length of the 200 it stands for (RFC 9110 8.6), never 0.
  done(null, null);
};

/**
 * Nest applies the route's status code after interceptors run, so an interceptor cannot answer
 * 304 itself. This `onSend` hook turns a response marked by {@link markNotModified} into a 304
 * just before it is written. It is a hook of the routes marked by {@link markNotModifiedRoute}
 * only, so other routes do not run it; `everyRoute` installs it on all of them instead (for an app
 * whose global interceptors may cache any route). Install it before routes are added.
 */
export function installNotModified(fastify: FastifyInstance, everyRoute: boolean): void {
  if (everyRoute) {
    fastify.addHook('onSend', answerNotModified);
    return;
  }
  fastify.addHook('onRoute', (route) => {
    if ((route.config as Record<string, unknown> | undefined)?.[NOT_MODIFIED_ROUTE] !== true) return;
    route.onSend = [...(route.onSend === undefined ? [] : [route.onSend].flat()), answerNotModified];
  });
}
