import {
  CallHandler,
  ExecutionContext,
  Injectable,
  NestInterceptor,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { from, lastValueFrom, Observable, of } from 'rxjs';
import { catchError, map } from 'rxjs/operators';
import { CacheRegistry } from '../cache-registry';
import { Uncacheable, type NamespaceCache } from '../namespace-cache';
import type { Duration } from '../ttl';
import type { CacheScope, RouteKey, RouteTags } from './http-cache.metadata';
import { RoutePolicyReader, type RoutePolicy, type RouteTtl } from './route-policy';
import {
  headerNamesOf,
  isStorable,
  mayUseCache,
  prepareCachedReply,
  PRIVATE_CACHE_CONTROL,
  routeEntryKey,
  storedResponse,
  type CachedResponse,
  type XCache,
} from './cached-response';

/** A response the handler produced that must not be stored or shared. */
interface PassThrough {
  body: unknown;
}

/** A controller class or one of its handler methods. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
type Target = Function;

/** What a cached route's requests need from its decorators and the registry, resolved on its first request. */
interface ResolvedRoute {
  controller: Target;
  policy: RoutePolicy;
  cache: NamespaceCache;
}

/**
 * Route caching with the rules that make it safe by default: GET and HEAD only (HEAD shares GET's
 * entry); non-2xx responses, streams and responses that set cookies are never stored; keys hold
 * the method, the canonical path (or the `@CacheKey`), the sorted query with credential values digested, and
 * the scope — a digest of the caller's credentials unless the route is declared public. Concurrent
 * misses run the handler once. Every response says `X-Cache: HIT | MISS | STALE | BYPASS`; cached
 * bodies carry an `ETag` and a matching `If-None-Match` gets 304.
 */
@Injectable()
export class HttpCacheInterceptor implements NestInterceptor {
  private readonly routes = new WeakMap<Target, ResolvedRoute>();

  constructor(
    private readonly registry: CacheRegistry,
    private readonly policies: RoutePolicyReader,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    // The arguments by index rather than through `switchToHttp()`, which creates three closures and
    // adds them to the context object on every call: on a hit that was a measurable part of the work.
    const request = context.getArgByIndex<FastifyRequest & { user?: unknown }>(0);
    const reply = context.getArgByIndex<FastifyReply>(1);
    const { policy, cache } = this.routeOf(context);
    const scope = policy.scope;
    if (!mayUseCache(request)) {
      bypassed(reply, scope);
      return next.handle();
    }
    const parts = routeEntryKey(request, keyOf(policy.key, context), scope);
    const hit = cache.peek<CachedResponse>(parts);
    if (hit) return of(prepareCachedReply(request, reply, hit, 'HIT', scope));

    const respond = (cached: CachedResponse, status: XCache): string | Buffer =>
      prepareCachedReply(request, reply, cached, status, scope);
    const lookup = (async () => {
      const ttl = await ttlOf(policy.ttl, context);
      const tags = tagsOf(policy.tags, request);
      return cache.getOrLoad<CachedResponse | PassThrough>(
        parts,
        async () => {
          const namesBefore = headerNamesOf(reply);
          const body = await lastValueFrom(next.handle(), { defaultValue: undefined });
          return isStorable(body, reply) ? storedResponse(body, reply, namesBefore) : new Uncacheable({ body });
        },
        { ttl, tags },
      );
    })();
    return from(lookup).pipe(
      map(({ value, status }) => {
        if ('payload' in value) return respond(value, status);
        bypassed(reply, scope);
        return value.body;
      }),
      catchError((error: unknown) => {
        bypassed(reply, scope);
        throw error;
      }),
    );
  }

  /**
   * The route's policy and namespace cache, looked up by its handler once per route instead of
   * through two maps and the registry on every request. A handler inherited by two controllers can
   * have a policy for each, so the entry is used only for the controller it was resolved for.
   */
  private routeOf(context: ExecutionContext): ResolvedRoute {
    const handler = context.getHandler();
    const controller = context.getClass();
    const known = this.routes.get(handler);
    if (known?.controller === controller) return known;
    const policy = this.policies.of(controller, handler);
    const route = { controller, policy, cache: this.registry.namespace(policy.namespace) };
    this.routes.set(handler, route);
    return route;
  }
}

/**
 * Marks an answer that does not come from the cache or go into it. A principal-scoped route's answer
 * is the caller's whether cached or not, so it says `private` as its hits do — also when the client
 * asked for `no-store` and when it is an error — unless the route chose its own `Cache-Control`:
 * credentials in `X-Admin-Secret` or a query parameter do not keep a shared cache from storing an
 * answer, as `Authorization` does (RFC 9111 3.5).
 */
function bypassed(reply: FastifyReply, scope: CacheScope): void {
  reply.header('x-cache', 'BYPASS');
  if (scope !== 'public' && !reply.hasHeader('cache-control')) reply.header('cache-control', PRIVATE_CACHE_CONTROL);
}

function keyOf(key: RouteKey | undefined, context: ExecutionContext): string | undefined {
  return typeof key === 'function' ? key(context) : key;
}

async function ttlOf(ttl: RouteTtl | undefined, context: ExecutionContext): Promise<Duration | undefined> {
  return typeof ttl === 'function' ? await ttl(context) : ttl;
}

function tagsOf(tags: RouteTags, request: FastifyRequest): string[] {
  const resolved =
    typeof tags === 'function'
      ? tags({
          params: (request.params ?? {}) as Record<string, string>,
          query: (request.query ?? {}) as Record<string, unknown>,
        })
      : tags;
  return [...resolved];
}
