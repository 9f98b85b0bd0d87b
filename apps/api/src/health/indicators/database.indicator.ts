import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { AppConfig } from '@app/config';
import { PrismaService } from '@app/prisma';
import { DependencyIndicator, elapsedMs, type ProbeOutcome } from './dependency-indicator';

/**
 * `database`: proves the SQLite file can be read through Prisma's own connection.
 *
 * `SELECT 1` touches no page, and in WAL mode SQLite keeps serving pages from its cache while the
 * write-ahead index is unchanged, so even a schema query would succeed over a file that has been
 * overwritten or lost. Releasing the connection's unused cached pages first (`PRAGMA shrink_memory`)
 * makes `PRAGMA schema_version` read the header page from the file: one page, microseconds.
 */
@Injectable()
export class DatabaseIndicator extends DependencyIndicator<'database'> {
  constructor(
    indicators: HealthIndicatorService,
    config: AppConfig,
    private readonly prisma: PrismaService,
  ) {
    super('database', indicators, config.health.checkTimeoutMs);
  }

  protected async probe(): Promise<ProbeOutcome> {
    const startedAt = performance.now();
    await this.prisma.$executeRaw`PRAGMA shrink_memory`;
    await this.prisma.$queryRaw`PRAGMA schema_version`;
    return { up: true, details: { durationMs: elapsedMs(startedAt) } };
  }
}
