import { defineCacheNamespace } from '@app/cache';

/** One namespace per feature: its name is the key segment, its TTL the default of every entry. */
export const CATALOG_CACHE = defineCacheNamespace({
  name: 'example-catalog',
  ttl: '5m',
  description: 'Example catalog: product lookups and GET /example/products routes; evicted by price changes',
});

export const productTag = (id: string): string => `product:${id}`;
