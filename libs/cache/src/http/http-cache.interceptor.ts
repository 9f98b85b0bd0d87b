import {
  CallHandler,
  ExecutionContext,
  Injectable,
  NestInterceptor,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { CACHE_KEY_METADATA, CACHE_TTL_METADATA } from '@nestjs/cache-manager';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { from, lastValueFrom, Observable, of } from 'rxjs';
import { catchError, map } from 'rxjs/operators';
import { CacheRegistry } from '../cache-registry';
import { HTTP_NAMESPACE } from '../namespace';
import { Uncacheable } from '../namespace-cache';
import type { Duration } from '../ttl';
import {
  HTTP_CACHE_OPTIONS,
  HTTP_CACHE_SCOPE,
  HTTP_CACHE_TAGS,
  type CacheScope,
  type HttpCachedOptions,
  type RouteTags,
} from './http-cache.metadata';
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

type CacheKeyMetadata = string | ((context: ExecutionContext) => string | undefined);
type CacheTtlMetadata = number | ((context: ExecutionContext) => number | Promise<number>);

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
    private readonly reflector: Reflector,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest & { user?: unknown }>();
    const reply = http.getResponse<FastifyReply>();
    if (!mayUseCache(request)) {
      reply.header('X-Cache', 'BYPASS');
      return next.handle();
    }
    const options = this.optionsOf(context);
    const cache = this.registry.namespace(options.namespace ?? HTTP_NAMESPACE);
    const scope: CacheScope = this.metadata<CacheScope>(HTTP_CACHE_SCOPE, context) ?? options.scope ?? 'principal';
    const parts = routeEntryKey(request, this.explicitKey(context), scope);
    const respond = (cached: CachedResponse, status: XCache): string =>
      prepareCachedReply(request, reply, cached, status, scope);

    const hit = cache.peek<CachedResponse>(parts);
    if (hit) return of(respond(hit, 'HIT'));

    const lookup = (async () => {
      const ttl = await this.ttlOf(context, options.ttl);
      const tags = this.tagsOf(context, options.tags, request);
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

  private metadata<T>(key: string, context: ExecutionContext): T | undefined {
    return this.reflector.getAllAndOverride<T | undefined>(key, [context.getHandler(), context.getClass()]);
  }

  private optionsOf(context: ExecutionContext): HttpCachedOptions {
    return this.metadata<HttpCachedOptions>(HTTP_CACHE_OPTIONS, context) ?? {};
  }

  private explicitKey(context: ExecutionContext): string | undefined {
    const key = this.reflector.get<CacheKeyMetadata | undefined>(CACHE_KEY_METADATA, context.getHandler());
    return typeof key === 'function' ? key(context) : key;
  }

  /** `@CacheTTL` (milliseconds or a factory, as in `@nestjs/cache-manager`) wins over `@HttpCached({ ttl })`. */
  private async ttlOf(context: ExecutionContext, fallback: Duration | undefined): Promise<Duration | undefined> {
    const ttl = this.metadata<CacheTtlMetadata>(CACHE_TTL_METADATA, context);
    if (ttl === undefined || ttl === null) return fallback;
    return typeof ttl === 'function' ? await ttl(context) : ttl;
  }

  private tagsOf(context: ExecutionContext, fallback: RouteTags | undefined, request: FastifyRequest): string[] {
    const tags = this.metadata<RouteTags>(HTTP_CACHE_TAGS, context) ?? fallback;
    if (!tags) return [];
    const resolved =
      typeof tags === 'function'
        ? tags({
            params: (request.params ?? {}) as Record<string, string>,
            query: (request.query ?? {}) as Record<string, unknown>,
          })
        : tags;
    return [...resolved];
  }
}
