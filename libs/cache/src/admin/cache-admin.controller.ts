import { Controller, Get, Header, UseGuards } from '@nestjs/common';
import { AdminSecretGuard } from '@app/http';
import { CacheInventoryService, type CacheInventory } from '../cache-inventory';
import { CacheRegistry, type CacheOverview } from '../cache-registry';

/** Operators' view of the cache. Every route needs `X-Admin-Secret` (= `WEBHOOK_SECRET`). */
@Controller('admin/cache')
@UseGuards(AdminSecretGuard)
export class CacheAdminController {
  constructor(
    private readonly registry: CacheRegistry,
    private readonly inventoryService: CacheInventoryService,
  ) {}

  /** Per-namespace counters, L1 sizes, hit rates and the L2 circuit state. */
  @Get('stats')
  @Header('Cache-Control', 'no-store')
  stats(): CacheOverview {
    return this.registry.overview();
  }

  /** Every declared cache: namespaces, cached routes and cached methods. */
  @Get('inventory')
  @Header('Cache-Control', 'no-store')
  inventory(): CacheInventory {
    return this.inventoryService.inventory();
  }
}
