import { defineCacheNamespace } from '@app/cache';

/**
 * cursor-runner's answers worth keeping: its list of repositories, which changes only when a
 * repository is cloned on cursor-runner's side (not through this service), so a short TTL is the
 * only invalidation there is; 30 s spares cursor-runner a directory scan per operator request.
 */
export const CURSOR_RUNNER_CACHE = defineCacheNamespace({
  name: 'cursor-runner',
  ttl: '30s',
  maxEntries: 100,
  description: "cursor-runner's repository list (GET /cursor-runner/git/repositories); 30 s TTL, nothing here changes it",
});
