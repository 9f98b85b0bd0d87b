import type { Writable } from 'node:stream';
import type { Cluster } from 'ioredis';
import Redis from 'ioredis';
import { openRedis, type RedisConnection } from '@app/redis';
import { startRedisCluster, type RedisClusterUnderTest } from './support/redis-topologies';
import { startFaultyRedis, untilReady, type FaultyRedis } from './support/redis-server';

/** What a socket handed the kernel: one entry per write, the number of commands in it. */
type Writes = number[];

/**
 * Records each write the socket makes from now on. A Writable calls `_writev` with what waited
 * while it was corked and `_write` with a single chunk; each is one system call for a socket.
 */
function recordWrites(socket: Writable): Writes {
  const writes: Writes = [];
  const internals = socket as Writable & {
    _write: (chunk: unknown, encoding: BufferEncoding, callback: (error?: Error | null) => void) => void;
    _writev: (chunks: { chunk: unknown }[], callback: (error?: Error | null) => void) => void;
  };
  const single = internals._write.bind(socket);
  const several = internals._writev.bind(socket);
  internals._write = (chunk, encoding, callback) => {
    writes.push(1);
    single(chunk, encoding, callback);
  };
  internals._writev = (chunks, callback) => {
    writes.push(chunks.length);
    several(chunks, callback);
  };
  return writes;
}

/** A SET and a GET of each key, all issued in one tick: every GET must see the SET issued just before it. */
async function setThenGetInOneTick(connection: RedisConnection, keys: readonly string[]): Promise<void> {
  const replies = await Promise.all(keys.flatMap((key) => [connection.set(key, `value of ${key}`), connection.get(key)]));
  expect(replies).toEqual(keys.flatMap((key) => ['OK', `value of ${key}`]));
}

/**
 * The connections the app opens (`openRedis`) hand the kernel the commands of one tick of the
 * event loop in one write, in the order they were issued, on every socket they ever use: after a
 * reconnection, on each node of a Cluster. A frozen server still fails commands within the command
 * budget, a killed one fails those in flight at once, and the connection works again after either.
 */
describe('one write per tick on the connections the app opens', () => {
  let redis: FaultyRedis;
  const opened: RedisConnection[] = [];

  const open = (overrides = {}): Redis => {
    const connection = openRedis({ kind: 'standalone', url: redis.url }, 'write-batching-test', overrides) as Redis;
    connection.on('error', () => undefined);
    opened.push(connection);
    return connection;
  };

  beforeAll(async () => {
    redis = await startFaultyRedis();
  });

  afterEach(() => {
    for (const connection of opened.splice(0)) connection.disconnect();
  });

  afterAll(async () => {
    await redis.stop();
  });

  it('sends the commands issued in one tick in one write, each answered as issued', async () => {
    const connection = open();
    await untilReady(connection);
    const writes = recordWrites(connection.stream);
    const keys = Array.from({ length: 25 }, (_, index) => `tick-${index}`);

    await setThenGetInOneTick(connection, keys);

    expect(writes).toEqual([50]);
  });

  it('writes a command within the tick it was issued in: awaited one by one, one write each', async () => {
    const connection = open();
    await untilReady(connection);
    const writes = recordWrites(connection.stream);

    for (let index = 0; index < 5; index += 1) expect(await connection.incr('one-by-one')).toBe(index + 1);

    expect(writes).toEqual([1, 1, 1, 1, 1]);
  });

  it('keeps writing once a tick on the socket of a reconnection', async () => {
    const connection = open();
    await untilReady(connection);
    const firstSocket = connection.stream;
    const killer = new Redis(redis.url);
    try {
      const id = await connection.client('ID');
      const reconnected = new Promise((resolve) => connection.once('ready', resolve));
      await killer.client('KILL', 'ID', String(id));
      await reconnected;
    } finally {
      killer.disconnect();
    }
    expect(connection.stream).not.toBe(firstSocket);
    const writes = recordWrites(connection.stream);

    await setThenGetInOneTick(connection, ['after-reconnect-1', 'after-reconnect-2', 'after-reconnect-3']);

    expect(writes).toEqual([6]);
  });

  it('fails a tick of commands to a frozen server within the command budget, then works again after it', async () => {
    const commandTimeoutMs = 300;
    const connection = open({ commandTimeout: commandTimeoutMs });
    await untilReady(connection);
    redis.freeze();
    let settled: PromiseSettledResult<unknown>[];
    const started = Date.now();
    try {
      settled = await Promise.allSettled(Array.from({ length: 10 }, (_, index) => connection.set(`frozen-${index}`, 'x')));
    } finally {
      redis.thaw();
    }
    const elapsedMs = Date.now() - started;

    expect(settled.map((outcome) => outcome.status)).toEqual(Array(10).fill('rejected'));
    expect(elapsedMs).toBeGreaterThanOrEqual(commandTimeoutMs - 5);
    expect(elapsedMs).toBeLessThan(commandTimeoutMs + 1_000);
    const writes = recordWrites(connection.stream);
    await setThenGetInOneTick(connection, ['thawed-1', 'thawed-2']);
    expect(writes).toEqual([4]);
  });

  it('fails a tick of commands in flight when the server is killed, and batches on the restarted server', async () => {
    const connection = open();
    await untilReady(connection);
    // Frozen first, so the commands are written and unanswered when the kill comes.
    redis.freeze();
    const inFlight = Promise.allSettled(Array.from({ length: 10 }, (_, index) => connection.set(`killed-${index}`, 'x')));
    await new Promise((resolve) => setImmediate(resolve));
    const killedAt = Date.now();
    await redis.kill();
    const settled = await inFlight;
    const failedWithinMs = Date.now() - killedAt;

    expect(settled.map((outcome) => outcome.status)).toEqual(Array(10).fill('rejected'));
    expect(failedWithinMs).toBeLessThan(1_000);
    const reconnected = new Promise((resolve) => connection.once('ready', resolve));
    await redis.restart();
    await reconnected;
    const writes = recordWrites(connection.stream);
    await setThenGetInOneTick(connection, ['restarted-1', 'restarted-2', 'restarted-3']);
    expect(writes).toEqual([6]);
  });
});

describe('one write per tick on each node of a Cluster', () => {
  let cluster: RedisClusterUnderTest;
  let connection: Cluster | undefined;

  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 60_000);

  afterAll(async () => {
    connection?.disconnect();
    await cluster?.stop();
  });

  it('sends each primary the commands of one tick for its slots in one write', async () => {
    const nodes = cluster.nodes.map((node) => ({ host: '127.0.0.1', port: node.port }));
    connection = openRedis({ kind: 'cluster', nodes, password: undefined, tls: false }, 'write-batching-test') as Cluster;
    connection.on('error', () => undefined);
    await untilReady(connection);
    // Keys in slots of every primary, written one at a time first: the first command to a node opens
    // its connection, and the app's client opens them all at boot.
    const keys = Array.from({ length: 30 }, (_, index) => `spread-${index}`);
    for (const key of keys) await connection.set(key, 'opening');
    const primaries = connection.nodes('master');
    expect(primaries).toHaveLength(3);
    const writesByNode = primaries.map((node) => recordWrites(node.stream));

    await setThenGetInOneTick(connection, keys);

    const commandsByNode = await Promise.all(
      primaries.map(async (node) => {
        const port = node.options.port;
        let count = 0;
        for (const key of keys) if ((await cluster.primaryOf(key)).port === port) count += 2;
        return count;
      }),
    );
    expect(writesByNode).toEqual(commandsByNode.map((count) => [count]));
  }, 30_000);
});
