import type { AddressInfo } from 'node:net';
import type { AppConfig, RedisTopology } from '@app/config';

/** Where Redis is, without credentials: `redis://host:6379/0`. */
function redisWithoutCredentials(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
}

function redisDescription(topology: RedisTopology): string {
  const nodes = (list: readonly { host: string; port: number }[]) => list.map((node) => `${node.host}:${node.port}`).join(',');
  switch (topology.kind) {
    case 'standalone':
      return `${redisWithoutCredentials(topology.url)}, one node`;
    case 'sentinel':
      return `primary ${topology.name} via sentinels ${nodes(topology.sentinels)}`;
    case 'cluster':
      return `Cluster via ${nodes(topology.nodes)}`;
  }
}

/**
 * The one info line of a start: the URL it listens on, the mode, and where its state lives, e.g.
 * `Listening on http://0.0.0.0:3000 (production; Redis redis://redis:6379/0, one node; database
 * /app/data/shared.sqlite3; queue BullMQ under bull:jarek-va)`.
 */
export function describeListening(config: AppConfig, address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const state = config.redis
    ? [`Redis ${redisDescription(config.redis)}`, `database ${config.database.filePath}`, `queue BullMQ under ${config.queue.prefix}`]
    : ['embedded: no Redis, in-process cache and stores', `database ${config.database.filePath}`, 'queue in-process'];
  return `Listening on http://${host}:${address.port} (${config.env}; ${state.join('; ')})`;
}
