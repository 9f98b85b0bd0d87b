import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig } from '@app/config';
import { LoggerModule } from 'nestjs-pino';
import type { Logger } from 'pino';
import { createAppLogger, type LoggingOptions } from './app-logger';

/** The app's pino logger (see {@link createAppLogger}); the access log resolves it from the app. */
export const APP_LOGGER = Symbol('APP_LOGGER');

/**
 * The application logger: nestjs-pino's `Logger` over the app's one pino instance. nestjs-pino's
 * per-request middleware (pino-http, a child logger per request, AsyncLocalStorage) is not
 * installed — `forRoutes: []` — as the access log is a Fastify hook ({@link installAccessLog}) and
 * the request id comes from Fastify (`genReqId`).
 */
@Module({})
export class LoggingModule {
  static forRoot(options: LoggingOptions = {}): DynamicModule {
    const appLogger = { provide: APP_LOGGER, inject: [AppConfig], useFactory: (config: AppConfig) => createAppLogger(config, options) };
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRootAsync({
          providers: [appLogger],
          inject: [APP_LOGGER],
          useFactory: (logger: Logger) => ({ pinoHttp: { logger }, forRoutes: [] }),
        }),
      ],
      exports: [LoggerModule],
    };
  }
}
