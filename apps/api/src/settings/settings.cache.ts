import { defineCacheNamespace } from '@app/cache';

/**
 * Freshness of every cached settings read, in milliseconds: method results and the GET routes.
 * Writes through this service evict at once; the TTL only bounds how long a row written straight
 * into the shared database (cursor-runner's MCP, cursor-agents) can go unseen. A few seconds keeps
 * that short while a busy message flow still reads `debug` and `allow_audio_output` from memory.
 */
export const SETTINGS_TTL_MS = 5_000;

export const SETTINGS_CACHE = defineCacheNamespace({
  name: 'settings',
  ttl: SETTINGS_TTL_MS,
  maxEntries: 1_000,
  description:
    'SystemSetting lookups and the GET /settings routes; evicted by every settings write through this app, 5 s backstop for writes by other services',
});

/** Tag of every cached entry that shows the setting `name` (method results and GET /settings/:name). */
export const settingTag = (name: string): string => `setting:${name}`;

/** Tag of the cached GET /settings list, which every write changes. */
export const SETTINGS_LIST_TAG = 'settings:list';
