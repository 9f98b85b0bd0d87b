import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { AppConfig } from '@app/config';
import { genRequestId, installRequestIdHeader, REDACTED_HEADERS } from '@app/logging';
import { Logger } from 'nestjs-pino';
import { AppModule, type AppModuleOptions } from './app.module';

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
