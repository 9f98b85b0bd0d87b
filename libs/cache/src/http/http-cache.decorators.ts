import { applyDecorators, SetMetadata, UseInterceptors } from '@nestjs/common';
import { MarkEarlyHitRoute } from './early-hits';
import { HttpCacheInterceptor } from './http-cache.interceptor';
import {
  HTTP_CACHE_OPTIONS,
  HTTP_CACHE_SCOPE,
  HTTP_CACHE_TAGS,
  type HttpCachedOptions,
  type RouteTags,
  type CacheScope as CacheScopeName,
} from './http-cache.metadata';

/**
 * Caches a GET route's response (HEAD shares the entry) in two tiers with `X-Cache`, `ETag` and
 * 304 for a matching `If-None-Match`. One decorator: it applies {@link HttpCacheInterceptor}.
 * Works with `@CacheKey`/`@CacheTTL` from `@nestjs/cache-manager` as the NestJS docs describe.
 *
 * @example
 *   @Get(':name') @HttpCached({ ttl: '30s', tags: ({ params }) => [`setting:${params.name}`] })
 */
export function HttpCached(options: HttpCachedOptions = {}): MethodDecorator & ClassDecorator {
  const decorators: (MethodDecorator | ClassDecorator)[] = [
    SetMetadata(HTTP_CACHE_OPTIONS, options),
    UseInterceptors(HttpCacheInterceptor),
  ];
  if (options.earlyHits) decorators.push(MarkEarlyHitRoute());
  return applyDecorators(...decorators);
}

/** Sets the scope of cached routes (method or controller) used with `@UseInterceptors(HttpCacheInterceptor)`. */
export const CacheScope = (scope: CacheScopeName) => SetMetadata(HTTP_CACHE_SCOPE, scope);

/** Sets the tags of cached routes (method or controller) used with `@UseInterceptors(HttpCacheInterceptor)`. */
export const CacheTags = (tags: RouteTags) => SetMetadata(HTTP_CACHE_TAGS, tags);
