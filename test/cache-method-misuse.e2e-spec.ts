import { randomUUID } from 'node:crypto';
import { Controller, Get, Injectable, Module, Scope, type Type } from '@nestjs/common';
import Redis from 'ioredis';
import { Cacheable, CacheModule, CacheRegistry, defineCacheNamespace, HttpCached } from '@app/cache';
import { removeRedisKeys } from './support/redis-keys';
import { startTestApp, testRedisUrl, type TestApp } from './support/test-app';

/**
 * What the method cache does with calls and values it cannot key or store, and with decorators put
 * where they would do nothing: a cache problem never fails a call, and a misplaced decorator stops
 * the boot naming the method (docs/caching.md, "Caching a service method").
 */
const LOOKUPS = defineCacheNamespace({ name: 'misuse-lookups', ttl: '1m', description: 'test: method cache misuse' });

function shown(value: unknown): string {
  if (value instanceof Map) return `Map ${JSON.stringify([...value])}`;
  if (value instanceof Set) return `Set ${JSON.stringify([...value])}`;
  if (typeof value === 'bigint') return `${value}n`;
  if (value instanceof Date) return `Date ${value.toISOString()}`;
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return value === undefined ? 'undefined' : Object.is(value, -0) ? '-0' : JSON.stringify(value);
}

@Injectable()
class Lookups {
  calls = 0;

  @Cacheable({ namespace: LOOKUPS })
  async byFilter(filter: unknown): Promise<string> {
    this.calls += 1;
    return `result for ${shown(filter)}`;
  }

  @Cacheable({ namespace: LOOKUPS, key: (name: string) => ['symbolic', name] })
  async symbolic(name: string): Promise<{ name: string; marker: symbol }> {
    this.calls += 1;
    return { name, marker: Symbol('not for Redis') };
  }

  @Cacheable({
    namespace: LOOKUPS,
    key: (name: string) => ['tagged', name],
    tags: () => {
      throw new Error('a tag function with a bug');
    },
  })
  async badlyTagged(name: string): Promise<string> {
    this.calls += 1;
    return name;
  }
}

@Module({ imports: [CacheModule.forFeature(LOOKUPS)], providers: [Lookups] })
class LookupsModule {}

function startWith(...extraModules: Type[]): Promise<TestApp> {
  return startTestApp({ env: { REDIS_URL: testRedisUrl(), CACHE_KEY_PREFIX: `t-${randomUUID().slice(0, 8)}` }, extraModules });
}

/** The error the boot of an app with `extraModules` stops with (startTestApp closes what it built). */
function bootRefusal(...extraModules: Type[]): Promise<Error> {
  return startWith(...extraModules).then(
    async (app) => {
      await app.close();
      throw new Error('the app booted');
    },
    (error: Error) => error,
  );
}

describe('@Cacheable with calls and values the cache cannot key or store', () => {
  let app: TestApp;
  let lookups: Lookups;
  let redis: Redis;

  beforeAll(async () => {
    app = await startWith(LookupsModule);
    lookups = app.app.get(Lookups);
    redis = new Redis(testRedisUrl());
  });
  afterAll(async () => {
    await app.close();
    await removeRedisKeys(testRedisUrl(), app.config.cache.keyPrefix);
    await redis.quit();
  });

  it('gives calls a method tells apart keys apart (JSON.stringify gave a Map or Set argument of any content one key), and keeps each', async () => {
    const distinct: unknown[] = [
      new Map([['owner', 'alice']]),
      new Map([['owner', 'bob']]),
      new Set(['alice']),
      new Set(['bob']),
      {},
      undefined,
      null,
      10n,
      '10',
      10,
      -0,
      0,
      Number.NaN,
      new Date('2025-01-31T12:00:00.000Z'),
      '2025-01-31T12:00:00.000Z',
      [undefined],
      [null],
    ];
    const first = await Promise.all(distinct.map((filter) => lookups.byFilter(filter)));
    expect(first).toEqual(distinct.map((filter) => `result for ${shown(filter)}`));
    const calls = lookups.calls;
    app.app.get(CacheRegistry).dropAllLocal();
    // From Redis now: each call its own entry, none another's.
    expect(await Promise.all(distinct.map((filter) => lookups.byFilter(filter)))).toEqual(first);
    expect(lookups.calls).toBe(calls);
  });

  it('never writes an argument into a key: a token passed to a method without a key function stays out of Redis', async () => {
    await lookups.byFilter({ token: 'SUPER-SECRET-TOKEN-123' });
    const keys = await redis.keys(`${app.config.cache.keyPrefix}:*`);
    expect(keys.some((key) => key.includes('Lookups.byFilter'))).toBe(true);
    expect(keys.filter((key) => /SECRET|TOKEN/i.test(decodeURIComponent(key)))).toEqual([]);
  });

  it('runs a call whose argument cannot make a key (a function) uncached, and says so once', async () => {
    const before = lookups.calls;
    const handler = () => 'a callback';
    expect(await lookups.byFilter({ handler })).toBe('result for {}');
    expect(await lookups.byFilter({ handler })).toBe('result for {}');
    expect(lookups.calls - before).toBe(2);
    expect(app.logs.lines.filter((line) => String(line.msg).startsWith('@Cacheable Lookups.byFilter runs uncached'))).toHaveLength(1);
  });

  it('answers a value Redis cannot be given (a Symbol in it) and keeps it in L1 only, counted as an L2 error, warned once', async () => {
    const stats = () => app.app.get(CacheRegistry).byName(LOOKUPS.name)!.stats;
    const errorsBefore = stats().l2Errors;
    const before = lookups.calls;
    const value = await lookups.symbolic('first');
    expect(value.name).toBe('first');
    expect(await lookups.symbolic('first')).toBe(value);
    expect(lookups.calls - before).toBe(1);
    await lookups.symbolic('second');
    expect(stats().l2Errors - errorsBefore).toBe(2);
    expect(await redis.exists(app.app.get(CacheRegistry).namespace(LOOKUPS).key(['symbolic', 'first']))).toBe(0);
    expect(app.logs.lines.filter((line) => String(line.msg).includes('cannot be encoded for Redis'))).toHaveLength(1);
  });

  it('answers a call whose tags function throws, caches nothing of it, and logs the defect', async () => {
    const before = lookups.calls;
    expect(await lookups.badlyTagged('x')).toBe('x');
    expect(await lookups.badlyTagged('x')).toBe('x');
    expect(lookups.calls - before).toBe(2);
    expect(app.logs.lines.filter((line) => String(line.msg).startsWith(`The tags of an entry of namespace ${LOOKUPS.name} could not be computed`))).toHaveLength(2);
  });
});

describe('cache decorators where they would do nothing stop the boot, naming the method', () => {
  @Injectable()
  class NotAsync {
    // TypeScript accepts the decorator on a method returning a number: only the boot can refuse it.
    @Cacheable({ namespace: LOOKUPS })
    now(): number {
      return Date.now();
    }
  }

  @Injectable({ scope: Scope.REQUEST })
  class PerRequest {
    @Cacheable({ namespace: LOOKUPS })
    async find(): Promise<number> {
      return 1;
    }
  }

  @Controller('misplaced')
  class MisplacedRoute {
    @Get()
    @Cacheable({ namespace: LOOKUPS })
    async list(): Promise<number[]> {
      return [];
    }
  }

  @Injectable()
  class RouteDecoratorOnService {
    @HttpCached({ namespace: LOOKUPS })
    async find(): Promise<number> {
      return 1;
    }
  }

  it.each([
    ['@Cacheable on a method that is not async', NotAsync, 'a cache decorator on NotAsync.now: the method must be async'],
    ['@Cacheable on a request-scoped provider', PerRequest, 'a cache decorator on PerRequest.find: PerRequest is request-scoped or transient'],
    ['@Cacheable on a route', MisplacedRoute, '@Cacheable/@CacheEvict/@CachePut on the route MisplacedRoute.list: cache a route with @HttpCached'],
    ['@HttpCached on a service', RouteDecoratorOnService, "@HttpCached on RouteDecoratorOnService.find: only a controller's routes are cached by it"],
  ] as [string, Type, string][])('%s', async (_case, misplaced, expected) => {
    const isController = Reflect.hasMetadata('path', misplaced);
    @Module({ imports: [CacheModule.forFeature(LOOKUPS)], ...(isController ? { controllers: [misplaced] } : { providers: [misplaced] }) })
    class Misplaced {}
    expect((await bootRefusal(Misplaced)).message).toContain(expected);
  });

  it('@Cacheable on a method that is not async, of a provider made by a factory', async () => {
    @Module({ imports: [CacheModule.forFeature(LOOKUPS)], providers: [{ provide: 'CLOCK', useFactory: () => new NotAsync() }] })
    class FromFactory {}
    expect((await bootRefusal(FromFactory)).message).toContain('a cache decorator on CLOCK.now: the method must be async');
  });
});
