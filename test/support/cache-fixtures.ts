import {
  CanActivate,
  Controller,
  ExecutionContext,
  Get,
  Header,
  HttpCode,
  Injectable,
  Module,
  NotFoundException,
  Param,
  Post,
  Query,
  Res,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import { CacheInterceptor, CacheKey, CacheTTL } from '@nestjs/cache-manager';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyReply } from 'fastify';
import {
  Cacheable,
  CacheEvict,
  CacheModule,
  CachePut,
  defineCacheNamespace,
  HttpCached,
} from '@app/cache';
import { HttpCacheInterceptor } from '@app/cache/http/http-cache.interceptor';

/** Counts handler and loader executions so tests can see what the cache saved. */
@Injectable()
export class CallCounter {
  private readonly counts = new Map<string, number>();

  hit(name: string): number {
    const next = (this.counts.get(name) ?? 0) + 1;
    this.counts.set(name, next);
    return next;
  }

  of(name: string): number {
    return this.counts.get(name) ?? 0;
  }
}

/** Accepts any request with an Authorization header, as a real authentication guard would. */
@Injectable()
class RequireAuthorization implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return Boolean(context.switchToHttp().getRequest<{ headers: Record<string, string> }>().headers.authorization);
  }
}

export const FIXTURE_CACHE = defineCacheNamespace({
  name: 'fixtures',
  ttl: '1m',
  description: 'Fixture lookups for the cache tests',
});

/** A service with method caching, as a feature's repository would have. */
@Injectable()
export class FixtureCatalog {
  private readonly prices = new Map<string, number>([['apple', 3]]);

  constructor(private readonly counter: CallCounter) {}

  @Cacheable({ namespace: FIXTURE_CACHE, key: (name: string) => ['price', name], tags: ['prices'] })
  async price(name: string): Promise<number | null> {
    this.counter.hit(`price:${name}`);
    return this.prices.get(name) ?? null;
  }

  @CacheEvict({ namespace: FIXTURE_CACHE, keys: (name: string) => [['price', name]] })
  async setPrice(name: string, price: number): Promise<void> {
    this.prices.set(name, price);
  }

  @CacheEvict({ namespace: FIXTURE_CACHE, tags: ['prices'] })
  async repriceAll(factor: number): Promise<void> {
    for (const [name, price] of this.prices) this.prices.set(name, price * factor);
  }

  @CachePut({ namespace: FIXTURE_CACHE, key: (name: string) => ['price', name] })
  async refreshPrice(name: string): Promise<number | null> {
    this.counter.hit(`refresh:${name}`);
    return this.prices.get(name) ?? null;
  }
}

@Controller('fixtures')
class FixtureController {
  constructor(
    private readonly counter: CallCounter,
    private readonly catalog: FixtureCatalog,
  ) {}

  @Get('public')
  @HttpCached({ scope: 'public', ttl: '1m', tags: ['public'] })
  publicData(@Query('page') page = '1') {
    return { page, calls: this.counter.hit('public') };
  }

  /** A public route that reads a parameter named like a credential (a share link's `?token=`). */
  @Get('shared')
  @HttpCached({ scope: 'public', ttl: '1m', earlyHits: true })
  shared(@Query('token') token = '') {
    return { token, calls: this.counter.hit('shared') };
  }

  @Get('me')
  @UseGuards(RequireAuthorization)
  @HttpCached({ ttl: '1m' })
  me(@Res({ passthrough: true }) reply: FastifyReply) {
    const request = reply.request as { headers: Record<string, string> };
    return { caller: request.headers.authorization, calls: this.counter.hit('me') };
  }

  @Get('slow')
  @HttpCached({ scope: 'public' })
  async slow() {
    const calls = this.counter.hit('slow');
    await new Promise((resolve) => setTimeout(resolve, 50));
    return { calls };
  }

  @Get('missing/:id')
  @HttpCached({ scope: 'public' })
  missing(@Param('id') id: string) {
    this.counter.hit('missing');
    throw new NotFoundException({ ok: false, say: `No item ${id}.`, result: { error: 'Not Found' } });
  }

  @Get('cookie')
  @HttpCached({ scope: 'public' })
  cookie(@Res({ passthrough: true }) reply: FastifyReply) {
    reply.header('set-cookie', `session=${this.counter.hit('cookie')}`);
    return { calls: this.counter.of('cookie') };
  }

  @Get('stock-key')
  @UseInterceptors(CacheInterceptor)
  @CacheKey('stock-fixture-key')
  @CacheTTL(150)
  stockKey() {
    return { calls: this.counter.hit('stock-key') };
  }

  @Get('ours-with-stock-decorators')
  @HttpCached({ scope: 'public', key: 'overridden-by-stock-key', ttl: '1m' })
  @CacheKey('ours-fixture-key')
  @CacheTTL(150)
  oursWithStockDecorators() {
    return { calls: this.counter.hit('ours-stock') };
  }

  @Get('one-decorator')
  @HttpCached({ scope: 'public', key: 'one-decorator-key', ttl: 150, tags: ['one'] })
  oneDecorator(@Query('x') x = '') {
    return { x, calls: this.counter.hit('one-decorator') };
  }

  @Get('bare-interceptor')
  @UseInterceptors(HttpCacheInterceptor)
  bareInterceptor() {
    return { calls: this.counter.hit('bare-interceptor') };
  }

  @RouteConfig({ fixture: 'set after @HttpCached' })
  @Get('route-config/:id')
  @HttpCached({ scope: 'public', ttl: '1m' })
  routeConfig(@Param('id') id: string) {
    return { id, calls: this.counter.hit('route-config') };
  }

  @Get('early')
  @HttpCached({ scope: 'public', ttl: '1m', tags: ['early'], earlyHits: true })
  early(@Query('page') page = '1') {
    return { page, calls: this.counter.hit('early') };
  }

  @Get('price/:name')
  async price(@Param('name') name: string) {
    return { price: await this.catalog.price(name), loads: this.counter.of(`price:${name}`) };
  }

  @Post('price/:name/:value')
  async setPrice(@Param('name') name: string, @Param('value') value: string) {
    await this.catalog.setPrice(name, Number(value));
    return { ok: true };
  }
}

/** A controller cached as a whole: `@HttpCached` on the class. */
@Controller('fixtures-class')
@HttpCached({ scope: 'public', ttl: '1m' })
class ClassCachedController {
  constructor(private readonly counter: CallCounter) {}

  @Get(':id')
  find(@Param('id') id: string) {
    return { id, calls: this.counter.hit('class-cached') };
  }
}

/**
 * Routes whose answer is more than a JSON body: a status and headers of their own (`@HttpCode`,
 * `@Header`, and the handler's `reply.code()`/`reply.header()`), a text type, bytes. Each twice:
 * hits through the interceptor, and early hits.
 */
@Controller('answer-shape')
class AnswerShapeController {
  constructor(private readonly counter: CallCounter) {}

  private csv(reply: FastifyReply): string {
    this.counter.hit('answer-shape csv');
    reply.header('content-type', 'text/csv; charset=utf-8').header('x-custom', 'set by the handler');
    return 'a,b\n1,2\n';
  }

  @Get('csv')
  @HttpCode(203)
  @Header('x-declared', 'by @Header')
  @HttpCached({ scope: 'public', ttl: '1m' })
  csvThroughInterceptor(@Res({ passthrough: true }) reply: FastifyReply) {
    return this.csv(reply);
  }

  @Get('csv-early')
  @HttpCode(203)
  @Header('x-declared', 'by @Header')
  @HttpCached({ scope: 'public', ttl: '1m', earlyHits: true })
  csvEarly(@Res({ passthrough: true }) reply: FastifyReply) {
    return this.csv(reply);
  }

  @Get('problem')
  @HttpCached({ scope: 'public', ttl: '1m' })
  problem(@Res({ passthrough: true }) reply: FastifyReply) {
    reply.code(202).header('content-type', 'application/problem+json');
    return { title: 'accepted, with a type of its own' };
  }

  @Get('bytes')
  @HttpCached({ scope: 'public', ttl: '1m' })
  bytesThroughInterceptor() {
    return Buffer.from([0, 1, 2, 255]);
  }

  @Get('bytes-early')
  @HttpCached({ scope: 'public', ttl: '1m', earlyHits: true })
  bytesEarly() {
    return Buffer.from([0, 1, 2, 255]);
  }
}

@Module({
  imports: [CacheModule.forFeature(FIXTURE_CACHE)],
  controllers: [FixtureController, ClassCachedController, AnswerShapeController],
  providers: [CallCounter, FixtureCatalog],
  exports: [CallCounter, FixtureCatalog],
})
export class CacheFixturesModule {}

/** Routes that ask for early hits but are not eligible: the app must refuse to start. */
@Controller('ineligible')
class IneligibleEarlyHitsController {
  @Get('guarded')
  @UseGuards(RequireAuthorization)
  @HttpCached({ scope: 'public', earlyHits: true })
  guarded() {
    return {};
  }

  @Get('per-principal')
  @HttpCached({ earlyHits: true })
  perPrincipal() {
    return {};
  }
}

@Module({ controllers: [IneligibleEarlyHitsController] })
export class IneligibleEarlyHitsModule {}
