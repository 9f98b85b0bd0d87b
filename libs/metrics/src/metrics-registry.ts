import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { AppConfig } from '@app/config';

/**
 * The app's one Prometheus registry: every series carries `service`, `role` (`APP_ROLE`) and
 * `instance_id` (`INSTANCE_ID`), so a fleet's series stay apart — not `instance`, which Prometheus
 * sets to the scrape target's address and would rename the app's to `exported_instance`; the process's default metrics
 * are in it, and each library registers its own collectors here (the cache's `cache_*`, the
 * invalidation bus's `cache_invalidation_*`). One registry per app instance, so two apps in one
 * process do not share series.
 */
@Injectable()
export class MetricsRegistry extends Registry {
  constructor(config: AppConfig) {
    super();
    this.setDefaultLabels({ service: config.app.name, role: config.role, instance_id: config.instanceId });
    collectDefaultMetrics({ register: this });
  }
}
