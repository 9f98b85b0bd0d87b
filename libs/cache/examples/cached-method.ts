import { Injectable } from '@nestjs/common';
import { Cacheable, CacheEvict } from '@app/cache';
import { CATALOG_CACHE, productTag } from './catalog.cache';

/** Caching a service method: the result is kept, concurrent callers share one call, writes evict. */
@Injectable()
export class ProductCatalog {
  /** How many times the slow source was read, so the example's test can see what the cache saved. */
  reads = 0;
  private readonly prices = new Map([['apple', 3], ['pear', 4]]);

  ids(): string[] {
    return [...this.prices.keys()];
  }

  @Cacheable({ namespace: CATALOG_CACHE, key: (id: string) => ['price', id], tags: (_price, id: string) => [productTag(id)] })
  async price(id: string): Promise<number | null> {
    this.reads += 1;
    return this.prices.get(id) ?? null;
  }

  /** Drops the cached price and every cached route answer tagged with the product, on every instance. */
  @CacheEvict({ namespace: CATALOG_CACHE, tags: (id: string) => [productTag(id), 'products'] })
  async setPrice(id: string, price: number): Promise<void> {
    this.prices.set(id, price);
  }
}
