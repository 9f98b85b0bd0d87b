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
import { Uncacheable } from '../namespace-cache';
import type { Duration } from '../ttl';
import type { RouteKey, RouteTags } from './http-cache.metadata';
import { RoutePolicyReader, type RouteTtl } from './route-policy';
import {
  isStorable,
  mayUseCache,
  prepareCachedReply,
  routeEntryKey,
  serialize,
  type CachedResponse,
  type XCache,
} from './cached-response';

/** A response the handler produced that must not be stored or shared. */
interface PassThrough {
  body: unknown;
}

/**
 * Route caching with the rules that make it safe by default: GET and HEAD only (HEAD shares GET's
 * entry); non-2xx responses, streams and responses that set cookies are never stored; keys hold
 * the method, the path (or the `@CacheKey`), the sorted query without credential parameters, and
 * the scope — a digest of the caller's credentials unless the route is declared public. Concurrent
 * misses run the handler once. Every response says `X-Cache: HIT | MISS | STALE | BYPASS`; cached
 * bodies carry an `ETag` and a matching `If-None-Match` gets 304.
 */
@Injectable()
export class HttpCacheInterceptor implements NestInterceptor {
  constructor(
    private readonly registry: CacheRegistry,
    private readonly policies: RoutePolicyReader,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest & { user?: unknown }>();
    const reply = http.getResponse<FastifyReply>();
    if (!mayUseCache(request)) {
      reply.header('X-Cache', 'BYPASS');
      return next.handle();
    }
    const policy = this.policies.ofContext(context);
    const cache = this.registry.namespace(policy.namespace);
    const scope = policy.scope;
    const parts = routeEntryKey(request, keyOf(policy.key, context), scope);
    const respond = (cached: CachedResponse, status: XCache): string =>
      prepareCachedReply(request, reply, cached, status, scope);

    const hit = cache.peek<CachedResponse>(parts);
    if (hit) return of(respond(hit, 'HIT'));

    const lookup = (async () => {
      const ttl = await ttlOf(policy.ttl, context);
      const tags = tagsOf(policy.tags, request);
      return cache.getOrLoad<CachedResponse | PassThrough>(
        parts,
        async () => {
          const body = await lastValueFrom(next.handle(), { defaultValue: undefined });
          return isStorable(body, reply) ? serialize(body) : new Uncacheable({ body });
        },
        { ttl, tags },
      );
    })();
    return from(lookup).pipe(
      map(({ value, status }) => {
        if ('payload' in value) return respond(value, status);
        reply.header('X-Cache', 'BYPASS');
        return value.body;
      }),
      catchError((error: unknown) => {
        reply.header('X-Cache', 'BYPASS');
        throw error;
      }),
    );
  }
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
