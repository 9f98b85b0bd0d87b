import { Module } from '@nestjs/common';
import { CacheModule } from '@app/cache';
import { CATALOG_CACHE } from './catalog.cache';
import { ProductCatalog } from './cached-method';
import { ProductsController } from './cached-route';
import { ExchangeRatesService } from './cached-value';
import { StockApiController } from './stock-api';

/** A feature module: it registers its namespace; `CacheModule.forRoot()` in the app module does the rest. */
@Module({
  imports: [CacheModule.forFeature(CATALOG_CACHE)],
  controllers: [ProductsController, StockApiController],
  providers: [ProductCatalog, ExchangeRatesService],
})
export class CacheExamplesModule {}
