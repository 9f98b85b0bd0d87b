import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  CallHandler,
  ExecutionContext,
  Injectable,
  NestInterceptor,
  StreamableFile,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { CACHE_KEY_METADATA, CACHE_TTL_METADATA } from '@nestjs/cache-manager';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { from, lastValueFrom, Observable, of } from 'rxjs';
import { catchError, map } from 'rxjs/operators';
import { CacheRegistry } from '../cache-registry';
import { HTTP_NAMESPACE } from '../namespace';
import { Uncacheable, type LookupStatus } from '../namespace-cache';
import type { Duration } from '../ttl';
import {
  HTTP_CACHE_OPTIONS,
  HTTP_CACHE_SCOPE,
  HTTP_CACHE_TAGS,
  type CacheScope,
  type HttpCachedOptions,
  type RouteTags,
} from './http-cache.metadata';
import { markNotModified } from './not-modified';
import { normalizedQuery, principalOf } from './principal';

/**
 * What a cached route stores: the body serialized once, as the platform would have sent it, so a
 * hit sends stored bytes instead of serializing again; and its entity tag.
 */
interface CachedResponse {
  payload: string;
  /** JSON (sent as `application/json`) or a string the handler returned (sent as text). */
  json: boolean;
  etag: string;
}

/** A response the handler produced that must not be stored or shared. */
interface PassThrough {
  body: unknown;
}

const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

type CacheKeyMetadata = string | ((context: ExecutionContext) => string | undefined);
type CacheTtlMetadata = number | ((context: ExecutionContext) => number | Promise<number>);

export type XCache = LookupStatus | 'BYPASS';

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
    if (
      (request.method !== 'GET' && request.method !== 'HEAD') ||
      /\bno-store\b/i.test(String(request.headers['cache-control'] ?? ''))
    ) {
      reply.header('X-Cache', 'BYPASS');
      return next.handle();
    }
    const options = this.optionsOf(context);
    const cache = this.registry.namespace(options.namespace ?? HTTP_NAMESPACE);
    const rawQuery = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
    const query = new URLSearchParams(rawQuery);
    const explicitKey = this.explicitKey(context);
    const scope: CacheScope = this.metadata<CacheScope>(HTTP_CACHE_SCOPE, context) ?? options.scope ?? 'principal';
    const parts = [
      'GET',
      explicitKey ?? `${request.url.split('?')[0]}?${normalizedQuery(query)}`,
      scope === 'public' ? 'public' : `principal=${principalOf(request, query)}`,
    ];
    const respond = (cached: CachedResponse, status: XCache): string => {
      reply.header('X-Cache', status);
      reply.header('ETag', cached.etag);
      if (!reply.hasHeader('cache-control')) {
        reply.header('Cache-Control', scope === 'public' ? 'public, no-cache' : 'private, no-cache');
      }
      if (cached.json) reply.header('Content-Type', JSON_CONTENT_TYPE);
      if (matchesIfNoneMatch(request.headers['if-none-match'], cached.etag)) markNotModified(reply);
      return cached.payload;
    };

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

function isStorable(body: unknown, reply: FastifyReply): boolean {
  if (body === undefined) return false;
  if (body instanceof StreamableFile || body instanceof Readable) return false;
  if (reply.statusCode < 200 || reply.statusCode > 299) return false;
  return !reply.hasHeader('set-cookie');
}

/** The body as the platform sends it, with a weak validator: equal bodies, equal tags, on every instance. */
function serialize(body: unknown): CachedResponse {
  const json = typeof body !== 'string';
  const payload = json ? JSON.stringify(body) : body;
  return { payload, json, etag: `W/"${createHash('sha256').update(payload).digest('base64url').slice(0, 27)}"` };
}

function matchesIfNoneMatch(header: string | string[] | undefined, etag: string): boolean {
  if (!header) return false;
  const candidates = (Array.isArray(header) ? header.join(',') : header).split(',').map((tag) => tag.trim());
  const opaque = etag.replace(/^W\//, '');
  return candidates.some((candidate) => candidate === '*' || candidate.replace(/^W\//, '') === opaque);
}
