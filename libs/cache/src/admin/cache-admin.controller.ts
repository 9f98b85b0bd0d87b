import { Controller, Get, Header, UseGuards } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AppConfig, type AppRole } from '@app/config';
import { AdminSecretGuard } from '@app/http';
import { CacheInventoryService, type CacheInventory } from '../cache-inventory';
import { CacheRegistry, type CacheOverview } from '../cache-registry';
import { CACHE_INVENTORY_SCHEMA, CACHE_OVERVIEW_SCHEMA } from './cache-admin.openapi';

/** `GET /admin/cache/stats`: the overview of the instance that answered, named with its role. */
export interface InstanceCacheOverview extends CacheOverview {
  instance: { id: string; role: AppRole };
}

/** Operators' view of the cache. Every route needs `X-Admin-Secret` (= `WEBHOOK_SECRET`). */
@ApiTags('cache admin')
@Controller('admin/cache')
@UseGuards(AdminSecretGuard)
export class CacheAdminController {
  constructor(
    private readonly registry: CacheRegistry,
    private readonly inventoryService: CacheInventoryService,
    private readonly config: AppConfig,
  ) {}

  /**
   * Per-namespace counters, L1 sizes, hit rates and the L2 circuit state of the instance that
   * answers (each instance counts its own; `instance` says which one behind a load balancer).
   */
  @Get('stats')
  @ApiOperation({ summary: 'Per-namespace counters, L1 sizes, hit rates and the L2 circuit state' })
  @ApiOkResponse({ schema: CACHE_OVERVIEW_SCHEMA })
  @Header('Cache-Control', 'no-store')
  stats(): InstanceCacheOverview {
    return { ...this.registry.overview(), instance: { id: this.config.instanceId, role: this.config.role } };
  }

  /** Every declared cache: namespaces, cached routes and cached methods. */
  @Get('inventory')
  @ApiOperation({ summary: 'Every declared cache: namespaces, cached routes and cached methods' })
  @ApiOkResponse({ schema: CACHE_INVENTORY_SCHEMA })
  @Header('Cache-Control', 'no-store')
  inventory(): CacheInventory {
    return this.inventoryService.inventory();
  }
}
