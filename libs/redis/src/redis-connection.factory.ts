import { Logger } from '@nestjs/common';
import { budgetTimer } from '@app/common';
import type { RedisTopology } from '@app/config';
import Redis, { Cluster, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Writable } from 'node:stream';

/** Reconnect delay grows by this much per attempt, in milliseconds, up to the cap below. */
const RECONNECT_STEP_MS = 100;
const RECONNECT_CAP_MS = 2_000;

/**
 * A connection to the configured Redis: one server or a Sentinel-managed primary (`Redis`), or a
 * Cluster (`Cluster`, which routes each command to the node owning its key's slot). Both speak
 * the same commands; a multi-key command on a Cluster must keep its keys in one slot.
 */
export type RedisConnection = Redis | Cluster;

/**
 * Options shared by every application connection. Commands are not queued while disconnected and
 * are retried at most once: a cache read must fail in milliseconds when Redis is gone, not hang
 * until it returns. Reconnection itself never gives up, so Redis coming back needs no restart.
 */
export const redisConnectionOptions: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  connectTimeout: 2_000,
  // A socket that does not close after `end()` is destroyed this soon; ioredis waits out the whole
  // delay even for a socket that had already failed, which would hold up shutdown during an outage.
  disconnectTimeout: 300,
  enableReadyCheck: true,
  retryStrategy: (attempt) => Math.min(attempt * RECONNECT_STEP_MS, RECONNECT_CAP_MS),
};

/** Host and port of a Redis URL without its credentials, safe for logs. */
export function describeRedisUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.hostname}:${parsed.port || 6379}${parsed.pathname}`;
}

/** Where the configured Redis is, without credentials, safe for logs. */
export function describeRedis(topology: RedisTopology): string {
  switch (topology.kind) {
    case 'standalone':
      return describeRedisUrl(topology.url);
    case 'sentinel':
      return `Sentinel primary "${topology.name}" via ${topology.sentinels.map((node) => `${node.host}:${node.port}`).join(',')}`;
    case 'cluster':
      return `Cluster via ${topology.nodes.map((node) => `${node.host}:${node.port}`).join(',')}`;
  }
}

/** ioredis options for a `redis://` or `rediss://` URL (what `new Redis(url)` would parse). */
function urlOptions(url: string): RedisOptions {
  const parsed = new URL(url);
  const db = parsed.pathname.replace(/^\//, '');
  return {
    // An IPv6 address is written in brackets in a URL, and ioredis takes the bare address.
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: Number(parsed.port || 6379),
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    db: db ? Number(db) : 0,
    tls: parsed.protocol === 'rediss:' ? {} : undefined,
  };
}

/**
 * ioredis options of one server connection for `topology` (for a Cluster: of each node's
 * connection), on top of {@link redisConnectionOptions}. A Sentinel connection asks the sentinels
 * for the current primary on every (re)connect, so a promoted replica is used without a restart; a
 * primary that was demoted while this connection stayed open answers writes with `READONLY`, which
 * makes it reconnect (and so ask again). ioredis' `failoverDetector` is not used: its disconnect can
 * land while a reconnect is asking the sentinels, which ends the connection for good (seen under
 * load: the client stayed `end` after the switch).
 */
export function redisOptionsFor(topology: RedisTopology, role: string, overrides: RedisOptions = {}): RedisOptions {
  const base: RedisOptions = { ...redisConnectionOptions, connectionName: role };
  switch (topology.kind) {
    case 'standalone':
      return { ...base, ...urlOptions(topology.url), ...overrides };
    case 'sentinel':
      return {
        ...base,
        sentinels: topology.sentinels.map((node) => ({ host: node.host, port: node.port })),
        name: topology.name,
        role: 'master',
        password: topology.password,
        sentinelPassword: topology.sentinelPassword,
        tls: topology.tls ? {} : undefined,
        sentinelTLS: topology.tls ? {} : undefined,
        enableTLSForSentinelMode: topology.tls,
        reconnectOnError: (error) => error.message.startsWith('READONLY'),
        sentinelRetryStrategy: (attempt) => Math.min(attempt * RECONNECT_STEP_MS, RECONNECT_CAP_MS),
        ...overrides,
      };
    case 'cluster':
      return { ...base, password: topology.password, tls: topology.tls ? {} : undefined, ...overrides };
  }
}

/**
 * A Cluster client. Commands do not wait in an offline queue while the Cluster is not ready; one that
 * meets a failover (the node gone, `CLUSTERDOWN`, `TRYAGAIN`) is retried after a short delay a bounded
 * number of times, and the per-node `commandTimeout` (when given) bounds each try.
 */
function clusterClient(topology: Extract<RedisTopology, { kind: 'cluster' }>, role: string, overrides: RedisOptions, offlineQueue: boolean): Cluster {
  const options: ClusterOptions = {
    redisOptions: redisOptionsFor(topology, role, overrides),
    enableOfflineQueue: offlineQueue,
    enableReadyCheck: true,
    clusterRetryStrategy: (attempt) => Math.min(attempt * RECONNECT_STEP_MS, RECONNECT_CAP_MS),
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    maxRedirections: 6,
    slotsRefreshTimeout: 1_000,
  };
  const cluster = new Cluster(
    topology.nodes.map((node) => ({ host: node.host, port: node.port })),
    options,
  );
  if (!offlineQueue && overrides.commandTimeout !== undefined) queueOnlyWhileReady(cluster);
  return cluster;
}

/**
 * With its offline queue off, ioredis' Cluster also refuses a command for a node whose connection is
 * still connecting, and retries it 100 ms later through a random node and a redirect: two such
 * commands of one key race, and a `GET` issued after a `SET` in one tick answered `null` for about
 * one key in five on a fresh client (docs/redis.md, "A Cluster node that is still connecting"). The
 * Cluster reads `enableOfflineQueue` at every command, so for a client whose commands have a
 * timeout it is on exactly while the Cluster is ready and holds a node: a command then waits in its
 * node's connection (ioredis queues there), bounded by the command timeout. Without one, a node
 * frozen while its connection opens would hold such commands for good, where the retries reached
 * the promoted replica, so those clients keep ioredis' behaviour. While the Cluster is not ready, or
 * a slot refresh has emptied its pool (its own queue has no timer), a command fails at once.
 * ioredis' `duplicate()` would copy the value of the moment, not the getter; nothing duplicates
 * these clients (BullMQ duplicates only its worker's, which queues anyway).
 */
function queueOnlyWhileReady(cluster: Cluster): void {
  Object.defineProperty(cluster.options, 'enableOfflineQueue', {
    get: () => cluster.status === 'ready' && cluster.nodes('all').length > 0,
    configurable: true,
  });
}

/**
 * A client of `topology` for BullMQ and other owners that open and close their own connections.
 * `offlineQueue`: whether commands wait for a connection (BullMQ's worker needs it). It writes the
 * commands of one tick in one system call ({@link writeOncePerTick}) and judges a `commandTimeout`
 * after reading the socket ({@link expireAfterReading}).
 */
export function openRedis(topology: RedisTopology, role: string, overrides: RedisOptions = {}): RedisConnection {
  const timed = overrides.commandTimeout !== undefined;
  if (topology.kind === 'cluster') {
    const cluster = clusterClient(topology, role, overrides, overrides.enableOfflineQueue ?? false);
    cluster.on('+node', (node: Redis) => {
      writeOncePerTick(node);
      if (timed) judgeCommandTimeoutsAfterReading(node);
    });
    return cluster;
  }
  const connection = new Redis(redisOptionsFor(topology, role, overrides));
  writeOncePerTick(connection);
  if (timed) judgeCommandTimeoutsAfterReading(connection);
  return connection;
}

/** The part of an ioredis command its timeout works with; the timer's field is the one ioredis clears when the command settles. */
interface TimedCommand {
  isResolved: boolean;
  reject(error: Error): void;
  setTimeout(timeoutMs: number): void;
  _commandTimeoutTimer?: NodeJS.Timeout;
}

function rejectUnanswered(command: TimedCommand): void {
  if (!command.isResolved) command.reject(new Error('Command timed out'));
}

/**
 * ioredis' `commandTimeout` as ioredis arms it, judged once the socket has been read. Node runs
 * expired timers before it reads sockets, so after the process itself stalled past the timeout
 * (a long collection, a starved or paused CPU) ioredis failed with "Command timed out" a command
 * whose reply had arrived meanwhile: a cache read counted as a Redis error, a claim reported as
 * failed though Redis had made it. Here the verdict waits for the sockets to be read, as
 * `withTimeout`'s does ({@link budgetTimer}; docs/redis.md, "Command timeouts across a stalled
 * process"). A reply that has not come is failed as before, one phase later. The timer is kept in
 * ioredis' own field, which it clears when the command settles; a command sent again (a redirect,
 * the offline queue) keeps its first timer, as with ioredis.
 */
function expireAfterReading(this: TimedCommand, timeoutMs: number): void {
  this._commandTimeoutTimer ??= budgetTimer(timeoutMs, rejectUnanswered, this);
}

/** Gives every command sent through `connection` the timeout of {@link expireAfterReading}. */
function judgeCommandTimeoutsAfterReading(connection: Redis): void {
  const send = connection.sendCommand.bind(connection);
  connection.sendCommand = (command, stream) => {
    (command as unknown as TimedCommand).setTimeout = expireAfterReading;
    return send(command, stream);
  };
}

/**
 * Makes a connection hand the kernel the commands issued during one tick of the event loop in one
 * write. ioredis writes each command to its socket at once, a system call each: under load, the
 * replies that arrive together resume many callers, whose next commands then cost a write apiece,
 * and for a cache `SET` of a 1 KB entry that write was most of its CPU (docs/redis.md,
 * "Connections"). The socket is corked at the tick's first write and uncorked once the tick's
 * callbacks and promise reactions have run (`process.nextTick`, the pattern Node documents for
 * `cork`): its buffered commands go out in one `writev`, in the order they were issued. Unlike
 * ioredis' `enableAutoPipelining` nothing is reordered or held for a pipeline's replies, and no
 * pipeline is built per tick. Each (re)connection brings a new socket, which is wrapped when it
 * connects; a Cluster wraps each node's connection. A command thus leaves when its tick ends: work
 * or a stall later in that tick delays the send. Under fake timers that fake `process.nextTick`
 * (Jest's default), a connection sends nothing until the faked ticks run.
 */
function writeOncePerTick(connection: Redis): void {
  connection.on('connect', () => corkUntilTickEnds(connection.stream));
}

function corkUntilTickEnds(socket: Writable): void {
  const write = socket.write.bind(socket);
  let corked = false;
  const uncork = (): void => {
    corked = false;
    socket.uncork();
  };
  socket.write = ((...args: Parameters<Writable['write']>): boolean => {
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    return write(...args);
  }) as Writable['write'];
}

/**
 * Opens a connection and logs its state changes once each: one warning when it goes down (with
 * the cause), one line when it is ready again; repeated errors during one outage stay quiet.
 */
export function createRedisConnection(
  topology: RedisTopology,
  role: string,
  logger: Logger,
  options: RedisOptions = {},
): RedisConnection {
  const connection = openRedis(topology, role, options);
  const target = describeRedis(topology);
  let healthy: boolean | undefined;
  connection.on('ready', () => {
    if (healthy !== true) logger.log(`Redis ${role} connection ready (${target})`);
    healthy = true;
  });
  connection.on('error', (error: Error) => {
    if (healthy === false) return;
    healthy = false;
    logger.warn(`Redis ${role} connection down (${target}): ${error.message}`);
  });
  connection.on('close', () => {
    if (healthy !== true) return;
    healthy = false;
    // ioredis moves a deliberately closed connection to `end` right after emitting `close`.
    process.nextTick(() => {
      if (connection.status !== 'end') logger.warn(`Redis ${role} connection closed (${target}); reconnecting`);
    });
  });
  // A Cluster stays `ready` while one of its nodes fails over; say so once per node.
  if (connection instanceof Cluster) {
    connection.on('node error', (error: Error, node: string) => logger.warn(`Redis ${role} Cluster node ${node}: ${error.message}`));
  }
  return connection;
}

/**
 * Resolves once the connection is ready, has failed its first attempt, or `timeoutMs` has passed,
 * whichever comes first. Boot waits this long so the first requests find Redis connected, yet an
 * absent Redis never stops the service from starting: it serves degraded and reconnects.
 */
export async function settleFirstConnect(connection: RedisConnection, timeoutMs: number): Promise<void> {
  const startedAt = Date.now();
  await settleReady(connection, timeoutMs);
  // A Cluster client connects to each node on its first command there; a cache read with a budget
  // of milliseconds must not pay for that, so every primary is reached once before serving.
  if (connection instanceof Cluster && connection.status === 'ready') {
    const left = Math.max(0, timeoutMs - (Date.now() - startedAt));
    const reached = Promise.allSettled(connection.nodes('master').map((node) => node.ping()));
    await Promise.race([reached, new Promise((resolve) => setTimeout(resolve, left).unref())]);
  }
}

function settleReady(connection: RedisConnection, timeoutMs: number): Promise<void> {
  if (connection.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      connection.off('ready', done);
      connection.off('error', done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    connection.once('ready', done);
    connection.once('error', done);
  });
}

/**
 * The connection a Cluster client holds its subscriptions on, or `null` while it has none. ioredis
 * puts them on one node and, when that node goes away, re-subscribes on another without telling the
 * application — so whoever must know about the gap (messages published meanwhile are lost) watches
 * this identity change. It reads ioredis 5's private `Cluster.subscriber`; the Cluster e2e test
 * (`test/redis-topologies.e2e-spec.ts`) fails if an upgrade changes it.
 */
export function clusterSubscription(cluster: Cluster): object | null {
  const subscriber = (cluster as unknown as { subscriber?: { getInstance?: () => object | null } }).subscriber;
  return subscriber?.getInstance?.() ?? null;
}

/**
 * Runs `command` on the node that owns `slotKey`'s slot (a Cluster), or on the one server. For the
 * few commands that carry no key yet must reach one node, such as a `SCAN` of a namespace whose
 * keys all share a hash tag: that namespace lives on one node, so nothing else is scanned.
 */
export function nodeFor(connection: RedisConnection, slotKey: string): Redis {
  if (!(connection instanceof Cluster)) return connection;
  const owner = connection.slots[clusterKeySlot(slotKey)]?.[0];
  const node = connection.nodes('master').find((candidate) => `${candidate.options.host}:${candidate.options.port}` === owner);
  if (!node) throw new Error(`No Cluster node owns the slot of ${slotKey} right now`);
  return node;
}

/** The Cluster hash slot of `key` (CRC16 of its hash tag or of the whole key, mod 16384). */
export function clusterKeySlot(key: string): number {
  let hashed = key;
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) hashed = key.slice(open + 1, close);
  }
  return crc16(Buffer.from(hashed)) % 16_384;
}

function crc16(bytes: Buffer): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit += 1) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}
