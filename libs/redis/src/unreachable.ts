/**
 * What ioredis says when a command got no answer from Redis — as opposed to an answer that was an
 * error (`ReplyError`). The command timed out (a frozen server, a network that stops delivering),
 * was refused because the connection is not up and commands do not wait for it
 * (`enableOfflineQueue: false`), or was failed as its connection closed.
 */
const UNANSWERED_MESSAGES = new Set([
  'Command timed out',
  "Stream isn't writeable and enableOfflineQueue options is false",
  "Cluster isn't ready and enableOfflineQueue options is false",
  'Connection is closed.',
  'Cluster is disconnected.',
  'Cluster is disconnecting.',
  'Node is disconnected',
  'None of startup nodes is available',
  'Failed to refresh slots cache.',
]);

/** Socket errors a command fails with when its connection breaks under it. */
const BROKEN_CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND']);

/**
 * Whether `error`, thrown by a Redis call, means Redis did not answer it (down, frozen, unreachable),
 * which a request answers with 503, rather than a fault in the call itself.
 */
export function isRedisUnreachable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'MaxRetriesPerRequestError' || error.name === 'ClusterAllFailedError') return true;
  const code = (error as { code?: unknown }).code;
  return UNANSWERED_MESSAGES.has(error.message) || (typeof code === 'string' && BROKEN_CONNECTION_CODES.has(code));
}
