import type { Cluster } from 'ioredis';
import { openRedis } from '@app/redis';
import { CLOSED_PORT, untilReady } from './support/redis-server';
import { startRedisCluster, type RedisClusterUnderTest } from './support/redis-topologies';

/**
 * A Cluster client as `openRedis` opens the command connection (a command timeout, no offline
 * queue), before its node connections are open: the first commands to each node meet a connection
 * that is still connecting (docs/redis.md, "A Cluster node that is still connecting"). A real
 * 6-node Cluster.
 */
describe('a Cluster client whose node connections are still connecting', () => {
  let cluster: RedisClusterUnderTest;
  const opened: Cluster[] = [];
  const open = (nodes: { host: string; port: number }[], commandTimeout?: number): Cluster => {
    const client = openRedis({ kind: 'cluster', nodes, password: undefined, tls: false }, 'cluster-connecting-test', { commandTimeout }) as Cluster;
    client.on('error', () => undefined);
    opened.push(client);
    return client;
  };

  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 60_000);
  afterAll(async () => {
    for (const client of opened) client.disconnect();
    await cluster?.stop();
  });

  it('runs a SET and a GET of one key issued in one tick in that order, on every node', async () => {
    const nodes = cluster.nodes.map((node) => ({ host: '127.0.0.1', port: node.port }));
    const outOfOrder: string[] = [];
    for (let client = 0; client < 10; client += 1) {
      const connection = open(nodes, 1_000);
      await untilReady(connection);
      const keys = Array.from({ length: 30 }, (_, index) => `connecting-${client}-${index}`);
      const replies = await Promise.all(keys.flatMap((key) => [connection.set(key, key), connection.get(key)]));
      keys.forEach((key, index) => {
        if (replies[2 * index + 1] !== key) outOfOrder.push(`${key}: ${String(replies[2 * index + 1])}`);
      });
      connection.disconnect();
    }

    expect(outOfOrder).toEqual([]);
  }, 60_000);

  it('fails a command for a frozen node within the command budget, and reaches the node once it answers again', async () => {
    const key = 'connecting-frozen';
    const frozen = await cluster.primaryOf(key);
    // The frozen node last among the seeds, so the client learns the slots from a live one.
    const others = cluster.nodes.filter((node) => node.port !== frozen.port);
    const nodes = [...others, frozen].map((node) => ({ host: '127.0.0.1', port: node.port }));
    const connection = open(nodes, 300);
    await untilReady(connection);
    frozen.process.kill('SIGSTOP');
    let failedAfterMs: number;
    try {
      const startedAt = Date.now();
      await expect(connection.set(key, 'while frozen')).rejects.toThrow();
      failedAfterMs = Date.now() - startedAt;
    } finally {
      frozen.process.kill('SIGCONT');
    }

    expect(failedAfterMs).toBeLessThan(2_000);
    await cluster.waitUntilHealthy(key);
    await expect(connection.set(key, 'answered')).resolves.toBe('OK');
    await expect(connection.get(key)).resolves.toBe('answered');
  }, 60_000);

  it('fails a command at once when a slot refresh has emptied its pool while the Cluster is still ready', async () => {
    const connection = open(
      cluster.nodes.map((node) => ({ host: '127.0.0.1', port: node.port })),
      1_000,
    );
    await untilReady(connection);
    // What an empty CLUSTER SLOTS answer (a node that was reset) does: ioredis' private pool emptied
    // at once, its connections ending later. The Cluster's own queue, which would hold the command, has no timer.
    (connection as unknown as { connectionPool: { reset(nodes: unknown[]): void } }).connectionPool.reset([]);
    const startedAt = Date.now();

    await expect(connection.get('emptied')).rejects.toThrow('enableOfflineQueue options is false');
    expect(Date.now() - startedAt).toBeLessThan(500);
  });

  it('still fails a command at once while the Cluster itself is not ready', async () => {
    const connection = open([{ host: '127.0.0.1', port: CLOSED_PORT }], 1_000);
    const startedAt = Date.now();

    await expect(connection.get('anything')).rejects.toThrow("Cluster isn't ready and enableOfflineQueue options is false");
    expect(Date.now() - startedAt).toBeLessThan(500);
  });
});
