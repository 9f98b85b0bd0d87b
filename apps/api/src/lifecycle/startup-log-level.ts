import type { LoggerService } from '@nestjs/common';

/**
 * Startup lines that stay at info: a migration applied to the shared database, voice turned off for
 * want of a key, and a drain begun by a signal that came while the app was being built.
 */
const STARTUP_CONTEXTS_KEPT_AT_INFO = new Set(['Prisma', 'ElevenLabs', 'Lifecycle']);

/**
 * The application logger while it starts: Nest's module-init and route-mapping lines and the
 * features' startup notes are written at debug, so that at info a start is the one line saying
 * where the service listens ({@link describeListening}). Warnings and errors are never lowered.
 * After {@link started} every line keeps its level.
 */
export class StartupLogLevel implements LoggerService {
  private starting = true;

  constructor(private readonly logger: LoggerService) {}

  started(): void {
    this.starting = false;
  }

  log(message: unknown, ...optionalParams: unknown[]): void {
    const context = optionalParams.at(-1);
    if (this.starting && !(typeof context === 'string' && STARTUP_CONTEXTS_KEPT_AT_INFO.has(context))) {
      this.debug(message, ...optionalParams);
      return;
    }
    this.logger.log(message, ...optionalParams);
  }

  error(message: unknown, ...optionalParams: unknown[]): void {
    this.logger.error(message, ...optionalParams);
  }

  warn(message: unknown, ...optionalParams: unknown[]): void {
    this.logger.warn(message, ...optionalParams);
  }

  debug(message: unknown, ...optionalParams: unknown[]): void {
    this.logger.debug?.(message, ...optionalParams);
  }

  verbose(message: unknown, ...optionalParams: unknown[]): void {
    this.logger.verbose?.(message, ...optionalParams);
  }

  fatal(message: unknown, ...optionalParams: unknown[]): void {
    this.logger.fatal?.(message, ...optionalParams);
  }
}
