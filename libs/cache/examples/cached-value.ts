import { Injectable } from '@nestjs/common';
import { InjectCache, NamespaceCache } from '@app/cache';
import { CATALOG_CACHE } from './catalog.cache';

export interface ExchangeRates {
  fetchedAt: Date;
  rates: Map<string, number>;
}

/** Caching a value by hand: `wrap` for read-through, `set`/`get`/`delete` when you need them. */
@Injectable()
export class ExchangeRatesService {
  fetches = 0;

  constructor(@InjectCache(CATALOG_CACHE) private readonly cache: NamespaceCache) {}

  /** Read-through with single flight; a `Date` and a `Map` come back as themselves from either tier. */
  current(): Promise<ExchangeRates> {
    return this.cache.wrap('rates', () => this.fetch(), { ttl: '1m' });
  }

  /** Kept until invalidated: TTL 0 means "no expiry", as in cache-manager and Keyv. */
  async pin(rates: ExchangeRates): Promise<void> {
    await this.cache.set('rates', rates, { ttl: 0 });
  }

  async forget(): Promise<void> {
    await this.cache.delete('rates');
  }

  private async fetch(): Promise<ExchangeRates> {
    this.fetches += 1;
    return { fetchedAt: new Date(), rates: new Map([['EUR', 1], ['USD', 1.08]]) };
  }
}
