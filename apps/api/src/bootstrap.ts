import type { AddressInfo } from 'node:net';
import { Logger as NestLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { LogController, type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import { servesFeatureRoutes, type AppConfig } from '@app/config';
import {
  answerClientError,
  answerRoutingError,
  BODY_DEADLINE_CHECK_MS,
  installBodyDeadline,
  installBodyParsers,
  installMethodNotAllowed,
  installRouteBodyLimits,
  refuseConnectRequests,
  refuseNestMiddleware,
} from '@app/http';
import { APP_LOGGER, genRequestId, installAccessLog, installRequestIdHeader, REDACTED_HEADERS, REQUEST_ID_HEADER } from '@app/logging';
import { Logger } from 'nestjs-pino';
import type { Logger as PinoLogger } from 'pino';
import { AppModule, type AppModuleOptions } from './app.module';
import { CALLBACK_BODY_LIMIT, installCallbackAuthentication, installRefusedCallbackReports, RefusedCallbacks } from './conversation';
import { describeListening, RequestsInFlight, StartupLogLevel } from './lifecycle';
import { installApiDocs } from './openapi';
import { installRoleRoutes } from './roles';

/** Builds the application exactly as production runs it; `main.ts` and the e2e tests both use it. */
export async function createApp(config: AppConfig, options: AppModuleOptions = {}): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.http.bodyLimitBytes,
    // Fastify's default is no limit: a client sending its headers a byte at a time held its
    // connection for as long as it liked. Node checks the deadline every `connectionsCheckingInterval`
    // (30 s by default), hence the shorter check; bodies get theirs from installBodyDeadline.
    requestTimeout: config.http.requestTimeoutMs,
    http: { connectionsCheckingInterval: BODY_DEADLINE_CHECK_MS },
    // On shutdown, idle keep-alive sockets are closed at once while in-flight requests finish.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    genReqId: genRequestId,
    // What Fastify and Node refuse before a route runs is answered in the service's error shape too,
    // and a path Fastify cannot route never reaches the hooks, so its answer gets the request id here.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => answerRoutingError(error, request, reply.header(REQUEST_ID_HEADER, request.id)),
    clientErrorHandler: answerClientError,
    skipMiddie: true,
    // Fastify's own logger is off (the access log is ours), yet with request logging on it still builds
    // an "incoming request" and a "request completed" entry for every request, reading
    // `reply.elapsedTime`, only for its no-op logger to drop them (docs/architecture.md, "Per-request work").
    logController: new LogController({ disableRequestLogging: true }),
  });
  const fastify = adapter.getInstance();
  refuseNestMiddleware(fastify);
  refuseConnectRequests(fastify.server);
  installRoleRoutes(fastify, config.role);
  installMethodNotAllowed(fastify);
  installRequestIdHeader(adapter);
  RequestsInFlight.track(adapter);
  installAccessLog(adapter, () => app.get<PinoLogger>(APP_LOGGER));
  installRouteBodyLimits(fastify, { [CALLBACK_BODY_LIMIT]: config.http.callbackBodyLimitBytes });
  installBodyDeadline(adapter, config.http.requestTimeoutMs);
  installCallbackAuthentication(fastify, config);
  installRefusedCallbackReports(fastify, () => app.get(RefusedCallbacks));
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, options), adapter, {
    bufferLogs: true,
  });
  installBodyParsers(app, config.http.bodyLimitBytes);
  const logger = new StartupLogLevel(app.get(Logger));
  app.useLogger(logger);
  app.flushLogs();
  app.getHttpServer().once('listening', () => {
    logger.started();
    const address = app.getHttpServer().address() as AddressInfo;
    new NestLogger('Lifecycle').log(describeListening(config, address));
  });
  if (config.http.corsEnabled) {
    app.enableCors({
      origin: config.http.corsOrigins.includes('*') ? true : [...config.http.corsOrigins],
      allowedHeaders: ['content-type', 'x-request-id', ...REDACTED_HEADERS.filter((header) => header !== 'cookie')],
      exposedHeaders: ['x-request-id', 'x-cache', 'etag'],
      maxAge: 86_400,
    });
  }
  if (servesFeatureRoutes(config.role)) installApiDocs(app, config);
  return app;
}
