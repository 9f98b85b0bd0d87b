import { defineCacheNamespace } from '@app/cache';

/**
 * cursor-runner's answers worth keeping: a repository's file tree, which changes only when the
 * coding agent or a clone changes files on cursor-runner's side (not through this service), so a
 * short TTL is the only invalidation there is; 30 s spares cursor-runner a directory walk per
 * operator request.
 */
export const CURSOR_RUNNER_CACHE = defineCacheNamespace({
  name: 'cursor-runner',
  ttl: '30s',
  maxEntries: 100,
  description:
    "cursor-runner's repository file trees (GET /cursor-runner/repositories/:repository/files); 30 s TTL, nothing here changes them",
});
