import type { FastifyAdapter } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Work done for every request, synchronously, on a hook Nest's Fastify adapter already runs. */
export type RequestObserver = (request: FastifyRequest, reply: FastifyReply) => void;

/**
 * Work done once a request is answered. `elapsedMs` is the answer's `reply.elapsedTime`, read once for
 * all of them, so the access line and the duration histogram carry the same duration and the getter
 * runs once a request.
 */
export type AnswerObserver = (request: FastifyRequest, reply: FastifyReply, elapsedMs: number) => void;

interface Observers {
  arrived: RequestObserver[];
  answered: AnswerObserver[];
}

const observersByAdapter = new WeakMap<FastifyAdapter, Observers>();

/**
 * Nest's `FastifyAdapter` adds an `onRequest` and an `onResponse` hook of its own to every app, and
 * calls from them whatever `setOnRequestHook` / `setOnResponseHook` gave it (Nest itself gives them
 * nothing). The app's per-request work — the request-id header, the access log, the request-duration
 * histogram — rides on those two instead of adding Fastify hooks, so the request path has exactly the
 * hooks of a stock Nest app and what a request costs beyond one is the observers' own work
 * (docs/architecture.md, "Per-request work"). The adapter keeps one function per slot, so the slots
 * are taken here once and everything else goes through {@link onRequestArrived} and {@link onRequestAnswered}.
 */
function observersOf(adapter: FastifyAdapter): Observers {
  let observers = observersByAdapter.get(adapter);
  if (observers) return observers;
  const created: Observers = { arrived: [], answered: [] };
  adapter.setOnRequestHook((request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    for (const observe of created.arrived) observe(request, reply);
    done();
  });
  adapter.setOnResponseHook((request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const elapsedMs = reply.elapsedTime;
    for (const observe of created.answered) observe(request, reply, elapsedMs);
    done();
  });
  observersByAdapter.set(adapter, (observers = created));
  return observers;
}

/**
 * Runs `observer` when a request arrives: first of the `onRequest` hooks, before the adapter's others
 * (CORS, its not-found and version checks) and a route's own (an early cache hit), so a header it
 * sets is on every answer those give.
 */
export function onRequestArrived(adapter: FastifyAdapter, observer: RequestObserver): void {
  observersOf(adapter).arrived.push(observer);
}

/** Runs `observer` once the answer to a request has been sent (`onResponse`), whoever sent it. */
export function onRequestAnswered(adapter: FastifyAdapter, observer: AnswerObserver): void {
  observersOf(adapter).answered.push(observer);
}

/**
 * The app has no Nest middleware: what would be one is an observer above or a Fastify hook. So the
 * adapter is created with `skipMiddie` (no `@fastify/middie`, whose `onRequest` hook would run for
 * every request to find no middleware), and a module that configures middleware anyway stops the
 * app at boot with this error rather than failing on a missing `use`.
 */
export function refuseNestMiddleware(fastify: FastifyInstance): void {
  fastify.decorate('use', () => {
    throw new Error(
      'Nest middleware is not supported: the app runs without @fastify/middie (docs/architecture.md, "Per-request work"). ' +
        'Use onRequestArrived/onRequestAnswered from @app/http or a Fastify hook instead.',
    );
  });
}
