import type { FastifyInstance, FastifyReply } from 'fastify';

const NOT_MODIFIED = Symbol('jarek-va.not-modified');

type MarkedReply = FastifyReply & { [NOT_MODIFIED]?: boolean };

/** Asks for this response to go out as 304 with no body (see {@link installNotModified}). */
export function markNotModified(reply: FastifyReply): void {
  (reply as MarkedReply)[NOT_MODIFIED] = true;
}

/**
 * Nest applies the route's status code after interceptors run, so an interceptor cannot answer
 * 304 itself. This `onSend` hook turns a response marked by {@link markNotModified} into a 304
 * just before it is written. Install it once on the Fastify instance, before routes are added.
 */
export function installNotModified(fastify: FastifyInstance): void {
  // A callback hook, not an async one: it runs on every response, and most pass through untouched.
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    if (!(reply as MarkedReply)[NOT_MODIFIED] || reply.statusCode !== 200) return done(null, payload);
    reply.code(304);
    reply.removeHeader('content-length');
    reply.removeHeader('content-type');
    done(null, '');
  });
}
