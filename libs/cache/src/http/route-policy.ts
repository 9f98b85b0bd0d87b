import { Injectable, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { CACHE_KEY_METADATA, CACHE_TTL_METADATA } from '@nestjs/cache-manager';
import { INTERCEPTORS_METADATA } from '@nestjs/common/constants';
import { HTTP_NAMESPACE, type CacheNamespace } from '../namespace';
import type { Duration } from '../ttl';
import { HTTP_CACHE_OPTIONS, type CacheScope, type HttpCachedOptions, type RouteKey, type RouteTags } from './http-cache.metadata';


/** A TTL as `@CacheTTL` of `@nestjs/cache-manager` may give it: milliseconds, or computed per request. */
export type RouteTtl = Duration | ((context: ExecutionContext) => number | Promise<number>);

/** Everything a cached route declares, read once from its decorators. */
export interface RoutePolicy {
  namespace: CacheNamespace;
  /** `undefined`: the namespace's default. */
  ttl: RouteTtl | undefined;
  /** `undefined`: the path and sorted query. */
  key: RouteKey | undefined;
  tags: RouteTags;
  scope: CacheScope;
  earlyHits: boolean;
}

/** A controller class or one of its handler methods. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
type Target = Function;

/**
 * The one reader of a route's cache policy, shared by the interceptor, early hits and the
 * inventory. `@HttpCached(options)` says everything; the stock `@CacheKey` and `@CacheTTL` of
 * `@nestjs/cache-manager` are honoured too and win over the options, as in the NestJS docs. A
 * route's policy never changes, so it is read once per handler.
 */
@Injectable()
export class RoutePolicyReader {
  private readonly policies = new WeakMap<Target, WeakMap<Target, RoutePolicy>>();

  constructor(private readonly reflector: Reflector) {}

  /** The policy of `handler` on `controller` (defaults when the route has no `@HttpCached`). */
  of(controller: Target, handler: Target): RoutePolicy {
    let byController = this.policies.get(handler);
    const known = byController?.get(controller);
    if (known) return known;
    const options =
      this.reflector.getAllAndOverride<HttpCachedOptions | undefined>(HTTP_CACHE_OPTIONS, [handler, controller]) ?? {};
    const policy: RoutePolicy = {
      namespace: options.namespace ?? HTTP_NAMESPACE,
      ttl: this.reflector.getAllAndOverride<RouteTtl | undefined>(CACHE_TTL_METADATA, [handler, controller]) ?? options.ttl,
      key: this.reflector.get<RouteKey | undefined>(CACHE_KEY_METADATA, handler) ?? options.key,
      tags: options.tags ?? [],
      scope: options.scope ?? 'principal',
      earlyHits: options.earlyHits ?? false,
    };
    if (!byController) this.policies.set(handler, (byController = new WeakMap()));
    byController.set(controller, policy);
    return policy;
  }

  /** Interceptors named on the route and its controller, for checks that depend on them. */
  interceptorsOf(controller: Target, handler: Target): unknown[] {
    return [controller, handler].flatMap((target) => this.reflector.get<unknown[] | undefined>(INTERCEPTORS_METADATA, target) ?? []);
  }
}
