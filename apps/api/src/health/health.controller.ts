import { Controller, Get, Res, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthCheckResult, type HealthIndicatorFunction } from '@nestjs/terminus';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CacheRegistry } from '@app/cache';
import { AppConfig } from '@app/config';
import { summarizeCache, type CacheSummary } from './cache-summary';
import { HEALTH_CHECK_SCHEMA, HEALTH_REPORT_SCHEMA, SERVICE_STATUS_SCHEMA } from './health.openapi';
import { CacheIndicator } from './indicators/cache.indicator';
import { DatabaseIndicator } from './indicators/database.indicator';
import { QueueWorkersIndicator } from './indicators/queue-workers.indicator';
import { QueuesIndicator } from './indicators/queues.indicator';
import { RedisIndicator } from './indicators/redis.indicator';

/** The service's plain health answer at `/`: `{status: 'healthy', service, version}`. */
export interface ServiceStatus {
  status: 'healthy';
  service: string;
  version: string;
}

/** `GET /health`: the Terminus report with the service's name and `version`, and the cache's state. */
export interface HealthReport extends HealthCheckResult {
  service: string;
  version: string;
  cache: CacheSummary;
}

/**
 * Health for people and for Kubernetes. Liveness checks nothing, so a Redis or database outage
 * never gets a pod restarted; readiness checks Redis, a cache round trip, the job queues and the
 * database (a worker, `APP_ROLE=worker`: Redis, the queues, the database and its running queue
 * workers), each bounded by
 * `HEALTH_CHECK_TIMEOUT_MS`; `/health` adds what an operator wants to see. A failed
 * check answers 503 with the Terminus body naming what is down.
 */
@ApiTags('health')
@Controller()
export class HealthController {
  private readonly readinessChecks: HealthIndicatorFunction[];

  constructor(
    private readonly config: AppConfig,
    private readonly health: HealthCheckService,
    private readonly registry: CacheRegistry,
    redis: RedisIndicator,
    cache: CacheIndicator,
    database: DatabaseIndicator,
    queues: QueuesIndicator,
    queueWorkers: QueueWorkersIndicator,
  ) {
    // A worker serves no cached route, so its readiness is the queue it runs and what its jobs need.
    this.readinessChecks =
      config.role === 'worker'
        ? [() => redis.check(), () => queues.check(), () => database.check(), () => queueWorkers.check()]
        : [() => redis.check(), () => cache.check(), () => queues.check(), () => database.check()];
  }

  @Get()
  @ApiOperation({ summary: 'Service name and version' })
  @ApiOkResponse({ schema: SERVICE_STATUS_SCHEMA })
  status(): ServiceStatus {
    return { status: 'healthy', service: this.config.app.name, version: this.config.app.version };
  }

  /** 200 while the process can serve; 503 only while it shuts down. */
  @Get('health/live')
  @ApiOperation({ summary: 'Liveness: 200 while the process can serve, 503 while it shuts down' })
  @ApiOkResponse({ schema: HEALTH_CHECK_SCHEMA })
  @ApiServiceUnavailableResponse({ description: 'Shutting down.', schema: HEALTH_CHECK_SCHEMA })
  @HealthCheck()
  live(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    return this.run([], reply);
  }

  /** 200 when Redis, the cache, the job queues and the database answer in time; 503 naming the ones that do not. */
  @Get('health/ready')
  @ApiOperation({ summary: 'Readiness: Redis, a cache round trip, the job queues and the database, each within HEALTH_CHECK_TIMEOUT_MS' })
  @ApiOkResponse({ schema: HEALTH_CHECK_SCHEMA })
  @ApiServiceUnavailableResponse({ description: 'A check is down; `error` names it.', schema: HEALTH_CHECK_SCHEMA })
  @HealthCheck()
  ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    return this.run(this.readinessChecks, reply);
  }

  /** The readiness report plus service, version and the cache's statistics and circuit state. */
  @Get('health')
  @ApiOperation({ summary: 'The readiness report plus service, version and the cache totals' })
  @ApiOkResponse({ schema: HEALTH_REPORT_SCHEMA })
  @ApiServiceUnavailableResponse({ description: 'A check is down; `error` names it.', schema: HEALTH_REPORT_SCHEMA })
  @HealthCheck()
  async report(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthReport> {
    const result = await this.run(this.readinessChecks, reply);
    return {
      status: result.status,
      service: this.config.app.name,
      version: this.config.app.version,
      info: result.info,
      error: result.error,
      details: result.details,
      cache: summarizeCache(this.registry.overview()),
    };
  }

  /**
   * Terminus reports a failed check by throwing 503 with its body. That is an expected answer
   * here, not an error to log with a stack trace on every probe, so the body is sent as it is.
   */
  private async run(checks: HealthIndicatorFunction[], reply: FastifyReply): Promise<HealthCheckResult> {
    try {
      return await this.health.check(checks);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      reply.status(error.getStatus());
      return error.getResponse() as HealthCheckResult;
    }
  }
}
