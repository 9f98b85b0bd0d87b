import { Injectable } from '@nestjs/common';
import { PATH_METADATA } from '@nestjs/common/constants';
import { APP_INTERCEPTOR, DiscoveryService, HttpAdapterHost, MetadataScanner } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { HttpCacheEarlyHits, installHttpCacheEarlyHits } from './early-hits';
import { HttpCacheInterceptor } from './http-cache.interceptor';
import { installNotModified, markNotModifiedRoute } from './not-modified';
import { RoutePolicyReader } from './route-policy';

/** A controller class or one of its methods. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
type Target = Function;

/**
 * Installs the Fastify hooks route caching needs — 304 for a matching `If-None-Match` and early
 * hits — when the module is instantiated: after the adapter exists and before Nest registers any
 * route, which is when Fastify hooks must be added to cover every route. Both are hooks of the
 * cached routes alone (those naming `HttpCacheInterceptor`, as `@HttpCached` does), so the other
 * routes pay nothing for them. An app on another HTTP platform gets no hooks (and no 304 or early hits).
 */
@Injectable()
export class CacheFastifyHooks {
  constructor(
    adapterHost: HttpAdapterHost,
    earlyHits: HttpCacheEarlyHits,
    discovery: DiscoveryService,
    scanner: MetadataScanner,
    policies: RoutePolicyReader,
  ) {
    const adapter = adapterHost.httpAdapter;
    if (adapter?.getType() !== 'fastify') return;
    const fastify = adapter.getInstance<FastifyInstance>();
    // A global interceptor may be this one (or wrap it) on any route: only then does every route get the 304 hook.
    const globalInterceptors = discovery.getProviders().some((wrapper) => String(wrapper.token).startsWith(APP_INTERCEPTOR));
    if (!globalInterceptors) {
      for (const wrapper of discovery.getControllers()) {
        const controller = wrapper.metatype as Target | undefined;
        if (!controller) continue;
        const prototype = controller.prototype as Record<string, Target>;
        for (const name of scanner.getAllMethodNames(prototype)) {
          const handler = prototype[name];
          if (!Reflect.hasMetadata(PATH_METADATA, handler)) continue;
          if (policies.interceptorsOf(controller, handler).includes(HttpCacheInterceptor)) markNotModifiedRoute(handler);
        }
      }
    }
    installNotModified(fastify, globalInterceptors);
    installHttpCacheEarlyHits(fastify, () => earlyHits);
  }
}
