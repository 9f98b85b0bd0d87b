import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { AppConfig } from '@app/config';
import { CacheRegistry } from './cache-registry';

const JOB_NAME = 'cache-l1-prune';

/**
 * Removes expired L1 entries on an interval (`CACHE_PRUNE_INTERVAL_MS`, default 5 minutes) so
 * memory held by entries nobody reads again is returned, and logs one line per namespace.
 */
@Injectable()
export class CacheMaintenance implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('CacheMaintenance');

  constructor(
    private readonly registry: CacheRegistry,
    private readonly scheduler: SchedulerRegistry,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    const timer = setInterval(() => this.prune(), this.config.cache.pruneIntervalMs);
    timer.unref();
    this.scheduler.addInterval(JOB_NAME, timer);
  }

  onApplicationShutdown(): void {
    if (this.scheduler.doesExist('interval', JOB_NAME)) this.scheduler.deleteInterval(JOB_NAME);
  }

  /** Prunes every namespace; returns the entries removed per namespace. */
  prune(): Record<string, number> {
    const removed: Record<string, number> = {};
    for (const cache of this.registry.all()) {
      removed[cache.name] = cache.prune();
      const stats = cache.snapshot();
      this.logger.log(
        `cache ${cache.name}: pruned ${removed[cache.name]} expired, ${stats.size}/${stats.maxEntries} entries, ` +
          `hit rate ${(stats.hitRate * 100).toFixed(1)}%, ${stats.evictions} evictions, ${stats.l2Errors} L2 errors`,
      );
    }
    return removed;
  }
}
