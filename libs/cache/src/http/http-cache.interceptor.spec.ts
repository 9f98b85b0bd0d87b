import { Controller, Get, type CallHandler } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { CacheKey, CacheTTL } from '@nestjs/cache-manager';
import { parse as parseQueryString } from 'fast-querystring';
import { lastValueFrom, of, throwError } from 'rxjs';
import type { CacheRegistry } from '../cache-registry';
import { HTTP_NAMESPACE } from '../namespace';
import { Uncacheable, type NamespaceCache } from '../namespace-cache';
import { serialize, type CachedResponse } from './cached-response';
import { HttpCached } from './http-cache.decorators';
import { HttpCacheInterceptor } from './http-cache.interceptor';
import { RoutePolicyReader } from './route-policy';

@Controller('items')
class ItemsController {
  @Get()
  @HttpCached({ scope: 'public', ttl: '1m', tags: ({ query }) => [`page:${String(query.page)}`] })
  list() {
    return [];
  }

  @Get('mine')
  @HttpCached({ ttl: '1m' })
  mine() {
    return [];
  }

  @Get('keyed')
  @HttpCached({ ttl: '1m', scope: 'public' })
  @CacheKey('items-keyed')
  @CacheTTL(5_000)
  keyed() {
    return [];
  }
}

/** One handler, inherited by two controllers whose class-level policies differ. */
class SharedListing {
  @Get()
  list() {
    return [];
  }
}

@Controller('public-listing')
@HttpCached({ scope: 'public', ttl: '1m' })
class PublicListingController extends SharedListing {}

@Controller('private-listing')
@HttpCached({ ttl: '1m' })
class PrivateListingController extends SharedListing {}

interface FakeRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  params: Record<string, string>;
  query: Record<string, string>;
}

function fakeReply(statusCode = 200) {
  const headers = new Map<string, string>();
  return {
    statusCode,
    headers,
    header: jest.fn((name: string, value: string) => headers.set(name.toLowerCase(), value)),
    hasHeader: jest.fn((name: string) => headers.has(name.toLowerCase())),
    getHeaders: () => Object.fromEntries(headers),
  };
}

function setup(route: keyof ItemsController = 'list') {
  const loaded: unknown[] = [];
  const cache = {
    peek: jest.fn<CachedResponse | undefined, [unknown]>(() => undefined),
    // Behaves as NamespaceCache.getOrLoad on a miss: runs the loader, unwraps Uncacheable.
    getOrLoad: jest.fn(async (_parts: unknown, loader: () => Promise<unknown>) => {
      loaded.push(await loader());
      const value = loaded.at(-1);
      return { value: value instanceof Uncacheable ? value.value : value, status: 'MISS' as const };
    }),
  };
  const registry = { namespace: jest.fn(() => cache as unknown as NamespaceCache) };
  const sut = new HttpCacheInterceptor(registry as unknown as CacheRegistry, new RoutePolicyReader(new Reflector()));
  const handler: jest.Mocked<CallHandler> = { handle: jest.fn(() => of({ items: [1, 2] })) };
  const call = (request: Partial<FakeRequest> = {}, reply = fakeReply()) => {
    const url = request.url ?? '/items';
    // Fastify's parse of the URL's query, which request.query is.
    const query = parseQueryString(url.includes('?') ? url.slice(url.indexOf('?') + 1) : '') as Record<string, string>;
    const fullRequest: FakeRequest = { method: 'GET', url, headers: {}, params: {}, query, ...request };
    const context = new ExecutionContextHost([fullRequest, reply], ItemsController, ItemsController.prototype[route]);
    return { result: lastValueFrom(sut.intercept(context, handler)), reply };
  };
  return { sut, call, loaded, mocks: { cache, registry, handler } };
}

describe('HttpCacheInterceptor', () => {
  it('answers an L1 hit with the stored bytes and its headers, without the handler or a load', async () => {
    const { call, mocks } = setup();
    const stored = serialize({ items: [1, 2] });
    mocks.cache.peek.mockReturnValue(stored);

    const { result, reply } = call({ url: '/items?page=2&a=1' });

    expect(await result).toBe(stored.payload);
    expect(mocks.registry.namespace).toHaveBeenCalledWith(HTTP_NAMESPACE);
    expect(mocks.cache.peek).toHaveBeenCalledWith(['GET', '/items?a=1&page=2', 'public']);
    expect(Object.fromEntries(reply.headers)).toEqual({
      'x-cache': 'HIT',
      etag: stored.etag,
      'cache-control': 'public, no-cache',
      'content-type': 'application/json; charset=utf-8',
    });
    expect(mocks.handler.handle).not.toHaveBeenCalled();
    expect(mocks.cache.getOrLoad).not.toHaveBeenCalled();
  });

  it('looks HEAD up under the GET entry', async () => {
    const { call, mocks } = setup();
    mocks.cache.peek.mockReturnValue(serialize('x'));
    await call({ method: 'HEAD', url: '/items' }).result;
    expect(mocks.cache.peek).toHaveBeenCalledWith(['GET', '/items?', 'public']);
  });

  it('on a miss, loads through the handler once with the route ttl and tags, and answers the serialized body', async () => {
    const { call, mocks } = setup();

    const { result, reply } = call({ url: '/items?page=3', query: { page: '3' } });

    expect(await result).toBe(JSON.stringify({ items: [1, 2] }));
    expect(mocks.handler.handle).toHaveBeenCalledTimes(1);
    expect(mocks.cache.getOrLoad).toHaveBeenCalledWith(['GET', '/items?page=3', 'public'], expect.any(Function), {
      ttl: '1m',
      tags: ['page:3'],
    });
    expect(reply.headers.get('x-cache')).toBe('MISS');
    expect(reply.headers.get('etag')).toMatch(/^W\/"/);
  });

  it.each([
    ['a POST', { method: 'POST' }],
    ['Cache-Control: no-store', { headers: { 'cache-control': 'no-store' } }],
  ])('bypasses the cache for %s', async (_, request) => {
    const { call, mocks } = setup();
    const { result, reply } = call(request);
    expect(await result).toEqual({ items: [1, 2] });
    expect(reply.headers.get('x-cache')).toBe('BYPASS');
    expect(mocks.cache.peek).not.toHaveBeenCalled();
    expect(mocks.cache.getOrLoad).not.toHaveBeenCalled();
  });

  it('answers but does not store a response that sets a cookie or is not 2xx', async () => {
    for (const reply of [Object.assign(fakeReply(), { hasHeader: jest.fn((name: string) => name === 'set-cookie') }), fakeReply(404)]) {
      const { call, loaded } = setup();
      const { result } = call({}, reply);
      expect(await result).toEqual({ items: [1, 2] });
      expect(reply.headers.get('x-cache')).toBe('BYPASS');
      expect(loaded).toEqual([new Uncacheable({ body: { items: [1, 2] } })]);
    }
  });

  it('keys a per-principal route by a digest of the credentials, never the credentials themselves', async () => {
    const { call, mocks } = setup('mine');
    await call({ url: '/items/mine?secret=s3cr3t&secret[]=other', headers: { authorization: 'Bearer token-1' } }).result;
    await call({ url: '/items/mine', headers: { authorization: 'Bearer token-2' } }).result;
    const [[first], [second]] = mocks.cache.getOrLoad.mock.calls as unknown as [string[]][];
    expect(first[1]).toMatch(/^\/items\/mine\?secret=%7E[0-9a-f]{16}&secret%5B%5D=%7E[0-9a-f]{16}$/);
    expect(first[2]).toMatch(/^principal=[0-9a-f]{16}$/);
    expect(second[2]).toMatch(/^principal=[0-9a-f]{16}$/);
    expect(first[2]).not.toBe(second[2]);
    expect(JSON.stringify(mocks.cache.getOrLoad.mock.calls)).not.toMatch(/s3cr3t|other|token-/);
  });

  it('takes the key from @CacheKey and the ttl from @CacheTTL, as @nestjs/cache-manager does', async () => {
    const { call, mocks } = setup('keyed');
    await call({ url: '/items/keyed?x=1' }).result;
    expect(mocks.cache.getOrLoad).toHaveBeenCalledWith(['GET', 'items-keyed', 'public'], expect.any(Function), { ttl: 5_000, tags: [] });
  });

  it("keys a handler inherited by two controllers by each controller's policy, whichever answered first", async () => {
    const { sut, mocks } = setup();
    const request = { method: 'GET', url: '/listing', headers: { authorization: 'Bearer token-1' }, params: {}, query: {} };
    const scopeOf = async (controller: typeof SharedListing) => {
      const context = new ExecutionContextHost([request, fakeReply()], controller, SharedListing.prototype.list);
      await lastValueFrom(sut.intercept(context, mocks.handler));
      return (mocks.cache.peek.mock.calls.at(-1)![0] as string[])[2];
    };
    expect(await scopeOf(PublicListingController)).toBe('public');
    expect(await scopeOf(PrivateListingController)).toMatch(/^principal=[0-9a-f]{16}$/);
    expect(await scopeOf(PublicListingController)).toBe('public');
  });

  it('passes a handler error on, marked BYPASS', async () => {
    const { call, mocks } = setup();
    mocks.handler.handle.mockReturnValue(throwError(() => new Error('handler failed')));
    const { result, reply } = call();
    await expect(result).rejects.toThrow('handler failed');
    expect(reply.headers.get('x-cache')).toBe('BYPASS');
  });
});
