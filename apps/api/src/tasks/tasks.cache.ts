import { defineCacheNamespace } from '@app/cache';

/**
 * Task queries. cursor-runner and cursor-agents' task operator write `tasks` directly (the operator
 * moves tasks to in_progress and complete on its own), so the backstop TTL is short: 5 s bounds how
 * long such a change goes unseen, while writes through this app evict at once.
 */
export const TASKS_CACHE = defineCacheNamespace({
  name: 'tasks',
  ttl: '5s',
  maxEntries: 1_000,
  description: 'Task lists and lookups; evicted by every task write through this app, 5 s backstop for other services',
});

/** Every cached task query carries it: a write may change any list, so it evicts them all. */
export const TASKS_TAG = 'tasks';
