import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { HttpCacheEarlyHits, installHttpCacheEarlyHits, installNotModified } from '@app/cache';
import type { AppConfig } from '@app/config';
import { installRouteBodyLimits } from '@app/http';
import { genRequestId, installRequestIdHeader, REDACTED_HEADERS } from '@app/logging';
import { Logger } from 'nestjs-pino';
import { AppModule, type AppModuleOptions } from './app.module';
import { CALLBACK_BODY_LIMIT, installRefusedCallbackReports, RefusedCallbacks } from './callbacks/refused-callbacks';

/** Builds the application exactly as production runs it; `main.ts` and the e2e tests both use it. */
export async function createApp(config: AppConfig, options: AppModuleOptions = {}): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.http.bodyLimitBytes,
    // On shutdown, idle keep-alive sockets are closed at once while in-flight requests finish.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    genReqId: genRequestId,
  });
  installRequestIdHeader(adapter.getInstance());
  installNotModified(adapter.getInstance());
  installHttpCacheEarlyHits(adapter.getInstance(), () => app.get(HttpCacheEarlyHits));
  installRouteBodyLimits(adapter.getInstance(), { [CALLBACK_BODY_LIMIT]: config.http.callbackBodyLimitBytes });
  installRefusedCallbackReports(adapter.getInstance(), () => app.get(RefusedCallbacks), config);
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, options), adapter, {
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  app.flushLogs();
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  if (config.http.corsEnabled) {
    app.enableCors({
      origin: config.http.corsOrigins.includes('*') ? true : [...config.http.corsOrigins],
      allowedHeaders: ['content-type', 'x-request-id', ...REDACTED_HEADERS.filter((header) => header !== 'cookie')],
      exposedHeaders: ['x-request-id', 'x-cache', 'etag'],
      maxAge: 86_400,
    });
  }
  return app;
}
