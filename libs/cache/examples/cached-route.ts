import { Controller, Get, Param } from '@nestjs/common';
import { HttpCached } from '@app/cache';
import { CATALOG_CACHE, productTag } from './catalog.cache';
import { ProductCatalog } from './cached-method';

/** Caching a route: one decorator says where, how long, under which tags and for whom. */
@Controller('example/products')
export class ProductsController {
  constructor(private readonly catalog: ProductCatalog) {}

  /** The same answer for everyone: one entry, served from L1 before Nest's pipeline runs. */
  @Get()
  @HttpCached({ namespace: CATALOG_CACHE, scope: 'public', ttl: '30s', tags: ['products'], earlyHits: true })
  list() {
    return { products: this.catalog.ids() };
  }

  /** Per caller (the default scope), tagged with the product so a price change drops it. */
  @Get(':id')
  @HttpCached({ namespace: CATALOG_CACHE, tags: ({ params }) => [productTag(params.id)] })
  async find(@Param('id') id: string) {
    return { id, price: await this.catalog.price(id) };
  }
}
