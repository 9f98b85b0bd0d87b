import { AppConfig } from '@app/config';
import { batchedStandardOutput } from './batched-destination';
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export interface LoggingOptions {
  /** Where log lines go; standard output when absent. Tests pass a stream to read them. */
  destination?: DestinationStream;
}

function prettyTransport(config: AppConfig, options: LoggingOptions): LoggerOptions['transport'] {
  if (config.env !== 'development' || options.destination) return undefined;
  try {
    require.resolve('pino-pretty');
  } catch {
    return undefined;
  }
  return { target: 'pino-pretty', options: { singleLine: true, translateTime: 'SYS:HH:MM:ss.l' } };
}

/**
 * The app's one pino logger: the application's lines (through nestjs-pino) and the access log
 * (one line per request, {@link installAccessLog}) both write through it. JSON lines; pretty single
 * lines in development.
 */
export function createAppLogger(config: AppConfig, options: LoggingOptions = {}): Logger {
  const transport = prettyTransport(config, options);
  const settings: LoggerOptions = { level: config.logLevel, base: { service: config.app.name }, transport };
  if (options.destination) return pino(settings, options.destination);
  if (transport) return pino(settings);
  return pino(settings, batchedStandardOutput());
}
