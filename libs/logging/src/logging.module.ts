import type { IncomingMessage } from 'node:http';
import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig } from '@app/config';
import { LoggerModule } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import type { Options } from 'pino-http';
import { REDACTED_HEADERS, REDACTION_CENSOR, redactUrl } from './redaction';

/** Probe routes polled every few seconds; logging each success would drown everything else. */
const QUIET_PATHS = new Set(['/health/live', '/health/ready']);

export interface LoggingOptions {
  /** Where log lines go; standard output when absent. Tests pass a stream to read them. */
  destination?: DestinationStream;
}

function prettyTransport(config: AppConfig, options: LoggingOptions): Options['transport'] {
  if (config.env !== 'development' || options.destination) return undefined;
  try {
    require.resolve('pino-pretty');
  } catch {
    return undefined;
  }
  return { target: 'pino-pretty', options: { singleLine: true, translateTime: 'SYS:HH:MM:ss.l' } };
}

function pathOf(url: string | undefined): string {
  return redactUrl(url ?? '/');
}

export function pinoHttpOptions(config: AppConfig, options: LoggingOptions = {}): Options {
  return {
    level: config.logLevel,
    base: { service: config.app.name },
    transport: prettyTransport(config, options),
    autoLogging: {
      ignore: (req: IncomingMessage) => QUIET_PATHS.has((req.url ?? '').split('?')[0]),
    },
    customLogLevel: (_req, res, error) =>
      error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
    customSuccessMessage: (req, res, responseTime) =>
      `${req.method} ${pathOf(req.url)} ${res.statusCode} ${Math.round(responseTime)}ms`,
    customErrorMessage: (req, res) => `${req.method} ${pathOf(req.url)} ${res.statusCode} failed`,
    customAttributeKeys: { responseTime: 'durationMs' },
    serializers: {
      req: (req: { id: string; method: string; url: string; headers: Record<string, unknown>; remoteAddress?: string }) => ({
        id: req.id,
        method: req.method,
        path: pathOf(req.url),
        headers: req.headers,
        remoteAddress: req.remoteAddress,
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    redact: {
      paths: REDACTED_HEADERS.map((header) => `req.headers["${header}"]`),
      censor: REDACTION_CENSOR,
    },
  };
}

/**
 * Structured logging through nestjs-pino: one JSON line per request (request id, method, path,
 * status, duration) with credentials redacted; pretty single lines in development. The request id
 * is assigned by the HTTP platform ({@link installRequestIds}) and picked up from `req.id`.
 */
@Module({})
export class LoggingModule {
  static forRoot(options: LoggingOptions = {}): DynamicModule {
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRootAsync({
          inject: [AppConfig],
          useFactory: (config: AppConfig) => ({
            pinoHttp: options.destination
              ? [pinoHttpOptions(config, options), options.destination]
              : pinoHttpOptions(config, options),
          }),
        }),
      ],
      exports: [LoggerModule],
    };
  }
}
