import { Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { HttpCacheEarlyHits, installHttpCacheEarlyHits } from './early-hits';
import { installNotModified } from './not-modified';

/**
 * Installs the Fastify hooks route caching needs — 304 for a matching `If-None-Match` and early
 * hits — when the module is instantiated: after the adapter exists and before Nest registers any
 * route, which is when Fastify hooks must be added to cover every route. An app on another HTTP
 * platform gets no hooks (and no 304 or early hits).
 */
@Injectable()
export class CacheFastifyHooks {
  constructor(adapterHost: HttpAdapterHost, earlyHits: HttpCacheEarlyHits) {
    const adapter = adapterHost.httpAdapter;
    if (adapter?.getType() !== 'fastify') return;
    const fastify = adapter.getInstance<FastifyInstance>();
    installNotModified(fastify);
    installHttpCacheEarlyHits(fastify, () => earlyHits);
  }
}
