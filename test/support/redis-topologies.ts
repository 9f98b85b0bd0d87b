import { spawn, execFile, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import Redis from 'ioredis';
import { clusterKeySlot } from '@app/redis';
import { clusterBusArgs, freePort, redisAnswers } from './redis-server';

const run = promisify(execFile);

/** How long a failover may take on these topologies (node timeout / down-after of 1 s), with room for a loaded machine. */
export const FAILOVER_WITHIN_MS = 30_000;

/** One `redis-server` of a topology (a Cluster node, a Sentinel primary or replica, or a sentinel). */
export interface RedisNode {
  readonly port: number;
  readonly process: ChildProcess;
  /** SIGKILL, resolved once the process is gone. */
  kill(): Promise<void>;
  /** A killed node started again on its port with its options (a Cluster node rejoins from its nodes file). */
  restart(): Promise<void>;
  readonly alive: boolean;
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
}

async function waitFor<T>(what: string, check: () => Promise<T | undefined>, withinMs: number): Promise<T> {
  const deadline = Date.now() + withinMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} did not happen within ${withinMs} ms${last ? ` (last error: ${(last as Error).message})` : ''}`);
}

/** Runs one command on the server at `port` with a short-lived connection. */
async function commandOn(port: number, ...args: (string | number)[]): Promise<unknown> {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await client.call(String(args[0]), ...args.slice(1).map(String));
  } finally {
    client.disconnect();
  }
}

/** Starts `redis-server` with `args` (a config file and/or options) and resolves once it answers PING. */
async function spawnServer(port: number, args: string[]): Promise<ChildProcess> {
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  const failed = new Promise<never>((_, reject) =>
    child.once('error', (error) => reject(new Error(`Cannot start redis-server (${error.message}): install it (apt-get install redis-server)`))),
  );
  await Promise.race([waitFor(`redis-server on port ${port} answering`, async () => ((await redisAnswers(`redis://127.0.0.1:${port}`, 200)) ? true : undefined), 10_000), failed]);
  return child;
}

async function startNode(port: number, args: string[]): Promise<RedisNode> {
  let child = await spawnServer(port, args);
  const node: RedisNode = {
    port,
    get process() {
      return child;
    },
    get alive() {
      return child.exitCode === null && child.signalCode === null;
    },
    kill: async () => {
      child.kill('SIGKILL');
      await exited(child);
    },
    restart: async () => {
      await node.kill();
      child = await spawnServer(port, args);
    },
  };
  return node;
}

/** Options every throwaway server gets: loopback only, nothing kept on disk, files in `dir`. */
function baseArgs(port: number, dir: string): string[] {
  return ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', dir];
}

async function stopAll(nodes: readonly RedisNode[], dir: string): Promise<void> {
  await Promise.all(nodes.map((node) => node.kill()));
  fs.rmSync(dir, { recursive: true, force: true });
}

export interface RedisClusterUnderTest {
  readonly nodes: readonly RedisNode[];
  /** `REDIS_CLUSTER_NODES` for the app: every node, as seeds. */
  readonly seeds: string;
  /** The primary that owns `key`'s slot right now. */
  primaryOf(key: string): Promise<RedisNode>;
  /** Resolves once every slot is served again (`cluster_state:ok` on every live node) and `key`'s slot has a live owner. */
  waitUntilHealthy(key?: string): Promise<void>;
  /** Restarts a killed node and resolves once it is back as a replica in sync: every primary has a replica again. */
  revive(node: RedisNode): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A Redis Cluster of 3 primaries and 3 replicas on loopback ports, made by `redis-cli --cluster
 * create --cluster-replicas 1`. A node is judged failed after 1 s (`cluster-node-timeout`), so a
 * killed primary's replica takes its slots within a few seconds.
 */
export async function startRedisCluster(): Promise<RedisClusterUnderTest> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jarek-va-cluster-'));
  const nodes: RedisNode[] = [];
  try {
    for (let index = 0; index < 6; index += 1) {
      const port = await freePort();
      nodes.push(
        await startNode(port, [
          ...baseArgs(port, dir),
          '--cluster-enabled', 'yes',
          ...(await clusterBusArgs()),
          '--cluster-config-file', `nodes-${port}.conf`,
          '--cluster-node-timeout', '1000',
          // A replica takes over however long ago it last heard its primary: the failover under test
          // must not depend on how recently this loaded machine let them talk.
          '--cluster-replica-validity-factor', '0',
        ]),
      );
    }
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((node) => `127.0.0.1:${node.port}`), '--cluster-replicas', '1', '--cluster-yes'], {
      timeout: 30_000,
    });
  } catch (error) {
    await stopAll(nodes, dir);
    throw error;
  }
  const byPort = (port: number) => nodes.find((node) => node.port === port);
  const owner = async (key: string): Promise<RedisNode | undefined> => {
    const slot = clusterKeySlot(key);
    for (const node of nodes.filter((candidate) => candidate.alive)) {
      try {
        const ranges = (await commandOn(node.port, 'CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
        const range = ranges.find(([from, to]) => slot >= from && slot <= to);
        const found = range && byPort(Number(range[2][1]));
        return found?.alive ? found : undefined;
      } catch {
        // That node is not answering; ask the next.
      }
    }
    return undefined;
  };
  const cluster: RedisClusterUnderTest = {
    nodes,
    seeds: nodes.map((node) => `127.0.0.1:${node.port}`).join(','),
    primaryOf: (key) => waitFor(`an owner of ${key}'s slot`, () => owner(key), FAILOVER_WITHIN_MS),
    waitUntilHealthy: async (key = 'any') => {
      await waitFor(
        'cluster_state:ok on every live node',
        async () => {
          for (const node of nodes.filter((candidate) => candidate.alive)) {
            const info = String(await commandOn(node.port, 'CLUSTER', 'INFO'));
            if (!info.includes('cluster_state:ok')) return undefined;
          }
          return (await owner(key)) ? true : undefined;
        },
        FAILOVER_WITHIN_MS,
      );
    },
    revive: async (node) => {
      await node.restart();
      await cluster.waitUntilHealthy();
      await replicasInSync();
    },
    stop: () => stopAll(nodes, dir),
  };
  const replicasInSync = () =>
    waitFor(
      'every primary with a replica in sync',
      async () => {
        let replicas = 0;
        for (const node of nodes) {
          const replication = String(await commandOn(node.port, 'INFO', 'replication'));
          if (!replication.includes('role:slave')) continue;
          if (!replication.includes('master_link_status:up')) return undefined;
          replicas += 1;
        }
        return replicas === 3 ? true : undefined;
      },
      FAILOVER_WITHIN_MS,
    );
  try {
    await cluster.waitUntilHealthy();
    await replicasInSync();
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

export interface RedisSentinelUnderTest {
  /** `REDIS_SENTINELS` for the app. */
  readonly sentinels: string;
  /** `REDIS_SENTINEL_NAME` for the app. */
  readonly name: string;
  /** The node the sentinels name as primary right now. */
  primary(): Promise<RedisNode>;
  /** A live server the sentinels do not name as primary. */
  replica(): Promise<RedisNode>;
  /** Resolves once the sentinels name a live primary other than `previous`. */
  waitForNewPrimary(previous: RedisNode): Promise<RedisNode>;
  stop(): Promise<void>;
}

/**
 * A primary, one replica and 3 sentinels on loopback ports (`redis-server <conf> --sentinel`, what
 * `redis-sentinel` runs). The primary is judged down after 1 s (`down-after-milliseconds`), with a
 * quorum of 2, so a killed primary is replaced by the replica within a few seconds.
 */
export async function startRedisSentinel(): Promise<RedisSentinelUnderTest> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jarek-va-sentinel-'));
  const name = 'jarek-va-test';
  const servers: RedisNode[] = [];
  const sentinels: RedisNode[] = [];
  const all = () => [...servers, ...sentinels];
  try {
    const primaryPort = await freePort();
    servers.push(await startNode(primaryPort, baseArgs(primaryPort, dir)));
    const replicaPort = await freePort();
    servers.push(await startNode(replicaPort, [...baseArgs(replicaPort, dir), '--replicaof', '127.0.0.1', String(primaryPort)]));
    for (let index = 0; index < 3; index += 1) {
      const port = await freePort();
      const file = path.join(dir, `sentinel-${port}.conf`);
      fs.writeFileSync(
        file,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `sentinel monitor ${name} 127.0.0.1 ${primaryPort} 2`,
          `sentinel down-after-milliseconds ${name} 1000`,
          `sentinel failover-timeout ${name} 10000`,
          `sentinel parallel-syncs ${name} 1`,
          '',
        ].join('\n'),
      );
      sentinels.push(await startNode(port, [file, '--sentinel']));
    }
    // A failover needs the replica in sync and the sentinels aware of it and of each other.
    await waitFor(
      'the replica in sync and known to every sentinel',
      async () => {
        const replication = String(await commandOn(replicaPort, 'INFO', 'replication'));
        if (!replication.includes('master_link_status:up')) return undefined;
        for (const sentinel of sentinels) {
          const replicas = (await commandOn(sentinel.port, 'SENTINEL', 'REPLICAS', name)) as unknown[];
          const peers = (await commandOn(sentinel.port, 'SENTINEL', 'SENTINELS', name)) as unknown[];
          if (replicas.length < 1 || peers.length < 2) return undefined;
        }
        return true;
      },
      FAILOVER_WITHIN_MS,
    );
  } catch (error) {
    await stopAll(all(), dir);
    throw error;
  }
  const named = async (): Promise<RedisNode | undefined> => {
    for (const sentinel of sentinels.filter((candidate) => candidate.alive)) {
      const address = (await commandOn(sentinel.port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)) as [string, string] | null;
      const node = address ? servers.find((server) => server.port === Number(address[1])) : undefined;
      if (node?.alive) return node;
    }
    return undefined;
  };
  return {
    sentinels: sentinels.map((sentinel) => `127.0.0.1:${sentinel.port}`).join(','),
    name,
    primary: () => waitFor('a primary named by the sentinels', named, 5_000),
    replica: async () => {
      const primary = await waitFor('a primary named by the sentinels', named, 5_000);
      const replica = servers.find((server) => server !== primary && server.alive);
      if (!replica) throw new Error('No live replica');
      return replica;
    },
    waitForNewPrimary: (previous) =>
      waitFor(
        'a new primary',
        async () => {
          const node = await named();
          if (!node || node === previous) return undefined;
          const role = String(await commandOn(node.port, 'ROLE'));
          return role.startsWith('master') ? node : undefined;
        },
        FAILOVER_WITHIN_MS,
      ),
    stop: () => stopAll(all(), dir),
  };
}
