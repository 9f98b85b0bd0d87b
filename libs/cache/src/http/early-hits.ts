import { Injectable, OnModuleInit } from '@nestjs/common';
import { GUARDS_METADATA, HEADERS_METADATA, METHOD_METADATA } from '@nestjs/common/constants';
import { RequestMethod } from '@nestjs/common/enums/request-method.enum';
import { APP_GUARD, APP_INTERCEPTOR, DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { FASTIFY_ROUTE_CONFIG_METADATA } from '@nestjs/platform-fastify/constants';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { CacheRegistry } from '../cache-registry';
import type { NamespaceCache } from '../namespace-cache';
import { mayUseCache, prepareCachedReply, routeEntryKey, type CachedResponse } from './cached-response';
import { HttpCacheInterceptor } from './http-cache.interceptor';
import { RoutePolicyReader, type RoutePolicy } from './route-policy';

/** Key in a Fastify route's `config` naming the controller method whose L1 hits the hook may serve. */
const EARLY_HIT_HANDLER = 'httpCacheEarlyHitHandler';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any controller method, whatever its parameters
type Handler = (...args: any[]) => unknown;

interface EarlyHitRoute {
  cache: NamespaceCache;
  explicitKey: string | undefined;
  /** The route's `@Header()` headers, which Nest sets on each of its answers before the handler runs. */
  headers: { name: string; value: string | (() => string) }[];
}

/**
 * Puts the controller method into its Fastify route's `config`, merged with any `@RouteConfig`,
 * so the hook can tell the route apart without a lookup table of paths.
 */
export function MarkEarlyHitRoute(): MethodDecorator & ClassDecorator {
  return ((target: object, property?: string | symbol, descriptor?: PropertyDescriptor) => {
    if (!descriptor) throw new Error(`@HttpCached({ earlyHits: true }) applies to route methods, not to ${String((target as Handler).name ?? property)}`);
    const handler = descriptor.value as unknown as Handler;
    const config = (Reflect.getMetadata(FASTIFY_ROUTE_CONFIG_METADATA, handler) ?? {}) as Record<string, unknown>;
    Reflect.defineMetadata(FASTIFY_ROUTE_CONFIG_METADATA, { ...config, [EARLY_HIT_HANDLER]: handler }, handler);
  }) as MethodDecorator & ClassDecorator;
}

/**
 * Decides at startup which routes may have their L1 hits answered before Nest's pipeline, and
 * answers them. Skipping guards and interceptors is only harmless where there are none to skip, so
 * every route asking for early hits is checked and the app refuses to start when one is not
 * eligible, naming the route and the reason. An approved route's hit is the same response the
 * interceptor would send (same key, headers, ETag and 304); anything else falls through to Nest.
 */
@Injectable()
export class HttpCacheEarlyHits implements OnModuleInit {
  private readonly routes = new Map<Handler, EarlyHitRoute>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    private readonly registry: CacheRegistry,
    private readonly policies: RoutePolicyReader,
  ) {}

  onModuleInit(): void {
    const problems: string[] = [];
    const globalEnhancers = this.discovery
      .getProviders()
      .map((wrapper) => String(wrapper.token))
      .filter((token) => token.startsWith(APP_GUARD) || token.startsWith(APP_INTERCEPTOR));
    for (const wrapper of this.discovery.getControllers()) {
      const controller = wrapper.metatype as Handler | undefined;
      if (!controller) continue;
      for (const name of this.scanner.getAllMethodNames(controller.prototype as object)) {
        const handler = (controller.prototype as Record<string, Handler>)[name];
        const policy = this.policies.of(controller, handler);
        if (!policy.earlyHits) continue;
        const reasons = this.ineligibility(controller, handler, policy, globalEnhancers);
        if (reasons.length > 0) {
          problems.push(`${controller.name}.${name}: ${reasons.join('; ')}`);
          continue;
        }
        this.routes.set(handler, {
          cache: this.registry.namespace(policy.namespace),
          explicitKey: policy.key as string | undefined,
          headers: this.reflector.get<EarlyHitRoute['headers'] | undefined>(HEADERS_METADATA, handler) ?? [],
        });
      }
    }
    if (problems.length > 0) {
      throw new Error(`@HttpCached({ earlyHits: true }) cannot apply to: ${problems.join(' | ')}`);
    }
  }

  /** Answers the request from L1 when its route is approved and the entry is there; else `false`. */
  tryServe(handler: Handler, request: FastifyRequest, reply: FastifyReply): boolean {
    const route = this.routes.get(handler);
    if (!route || !mayUseCache(request)) return false;
    const hit = route.cache.peek<CachedResponse>(routeEntryKey(request, route.explicitKey, 'public'));
    if (!hit) return false;
    for (const { name, value } of route.headers) reply.header(name, typeof value === 'function' ? value() : value);
    void reply.send(prepareCachedReply(request, reply, hit, 'HIT', 'public'));
    return true;
  }

  private ineligibility(controller: Handler, handler: Handler, policy: RoutePolicy, globalEnhancers: string[]): string[] {
    const reasons: string[] = [];
    const read = <T>(key: string, target: object) => this.reflector.get<T | undefined>(key, target as Handler);
    if (policy.scope !== 'public') reasons.push("scope must be 'public'");
    if (read<RequestMethod>(METHOD_METADATA, handler) !== RequestMethod.GET) reasons.push('only GET routes');
    if ([handler, controller].some((target) => (read<unknown[]>(GUARDS_METADATA, target) ?? []).length > 0)) {
      reasons.push('the route has guards, which an early hit would skip');
    }
    if (this.policies.interceptorsOf(controller, handler).some((interceptor) => interceptor !== HttpCacheInterceptor)) {
      reasons.push('the route has other interceptors, which an early hit would skip');
    }
    if (globalEnhancers.length > 0) reasons.push('the app has global guards or interceptors, which an early hit would skip');
    if (policy.key !== undefined && typeof policy.key !== 'string') reasons.push('the key must be a string');
    const config = read<Record<string, unknown>>(FASTIFY_ROUTE_CONFIG_METADATA, handler);
    if (config?.[EARLY_HIT_HANDLER] !== handler) reasons.push('@RouteConfig replaced the route config; put it below @HttpCached');
    return reasons;
  }
}

/**
 * Gives each approved route an `onRequest` hook of its own that serves its L1 hits: the earliest
 * point Fastify allows, before body parsing and Nest's pipeline, and no cost at all
 * to other routes. A route's hooks run after the instance's, so a hit keeps the request id and
 * CORS headers; the `onSend` and `onResponse` hooks (304, access log, request metrics) run for it as for any answer.
 * Install it on the Fastify instance before Nest adds routes; `earlyHits` is resolved on first use.
 */
export function installHttpCacheEarlyHits(fastify: FastifyInstance, earlyHits: () => HttpCacheEarlyHits): void {
  let resolved: HttpCacheEarlyHits | undefined;
  fastify.addHook('onRoute', (route) => {
    const handler = (route.config as Record<string, unknown> | undefined)?.[EARLY_HIT_HANDLER];
    if (typeof handler !== 'function') return;
    const serveHit: onRequestHookHandler = (request, reply, done) => {
      if (!(resolved ??= earlyHits()).tryServe(handler as Handler, request, reply)) done();
    };
    route.onRequest = [...(route.onRequest === undefined ? [] : [route.onRequest].flat()), serveHit];
  });
}
