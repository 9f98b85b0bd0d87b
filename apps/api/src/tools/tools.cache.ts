import { defineCacheNamespace } from '@app/cache';

/**
 * The published tool list. It is a pure function of the code this process runs, so it stays
 * in-process: shared through Redis, an instance of another version could serve its own list during
 * a rolling deploy. Nothing invalidates it; the TTL only frees the memory of an idle process.
 */
export const TOOLS_CACHE = defineCacheNamespace({
  name: 'tools',
  ttl: '1h',
  maxEntries: 100,
  shared: false,
  description: 'GET /agent-tools (the tool list and argument schemas); in-process, never invalidated: it changes only with a deploy',
});
