import { applyDecorators, SetMetadata, UseInterceptors } from '@nestjs/common';
import { MarkEarlyHitRoute } from './early-hits';
import { HttpCacheInterceptor } from './http-cache.interceptor';
import { HTTP_CACHE_OPTIONS, type HttpCachedOptions } from './http-cache.metadata';

/**
 * Caches a GET route's response (HEAD shares the entry) in two tiers with `X-Cache`, `ETag` and
 * 304 for a matching `If-None-Match`. The one decorator of a cached route: its options carry the
 * namespace, TTL, key, tags, scope and early hits, and it applies {@link HttpCacheInterceptor}.
 * The stock `@CacheKey`/`@CacheTTL` of `@nestjs/cache-manager` are honoured next to it.
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
