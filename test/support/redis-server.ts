import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import Redis, { type Cluster } from 'ioredis';

/** Resolves true when a Redis at `url` answers PING within `timeoutMs`. */
export async function redisAnswers(url: string, timeoutMs = 1_000): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    // A connection that never opened has ended already (no retries); disconnecting it anyway makes
    // ioredis wait 2 s for a 'close' its socket emitted before, which kept Jest alive after a run.
    if (client.status !== 'end') client.disconnect();
  }
}

/**
 * A loopback port where a connection is always refused: below the ephemeral range, so no server a
 * test starts on an OS-chosen port can take it, and no service this project talks to uses it. A
 * port from {@link freePort} would do only until another test's server is given it.
 */
export const CLOSED_PORT = 1;

/** A port nothing listens on right now (the OS picks it), for a server a test starts on it. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Resolves once `connection` is ready: the app's connections queue no command before that. */
export async function untilReady(connection: Redis | Cluster): Promise<void> {
  if (connection.status === 'ready') return;
  await new Promise((resolve) => connection.once('ready', resolve));
}

/**
 * Options giving a Cluster node's bus a port of its own, free when chosen. Redis otherwise listens for
 * the bus on the node's port + 10000, which nothing checked: inside the ephemeral range, any outgoing
 * connection of the test run can hold it, and the node then exits with "Failed listening on port …
 * (cluster)" (seen once, in test/redis-tls.e2e-spec.ts).
 */
export async function clusterBusArgs(): Promise<string[]> {
  return ['--cluster-port', String(await freePort())];
}

export interface RedisServerProcess {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * A `redis-server` of one test's own, for faults: never the shared Redis other suites use.
 * Frozen (SIGSTOP) it keeps its sockets open and answers nothing, as a hung Redis does; killed
 * (SIGKILL) it refuses connections; restarted it comes back empty on the same port.
 */
export interface FaultyRedis {
  readonly url: string;
  readonly port: number;
  /** The running server's process id (a new one after {@link restart}). */
  readonly pid: number | undefined;
  /** SIGSTOP: connections stay open, commands wait. */
  freeze(): void;
  /** SIGCONT: the waiting commands run. */
  thaw(): void;
  /** SIGKILL, resolved once the process is gone (the port then refuses connections). */
  kill(): Promise<void>;
  /** A new, empty server on the same port, resolved once it answers PING. */
  restart(): Promise<void>;
  /** Ends the server whatever its state. */
  stop(): Promise<void>;
}

export async function startFaultyRedis(options: RedisServerOptions = {}): Promise<FaultyRedis> {
  let server = await startRedisServer(undefined, options);
  const exited = (child: ChildProcess) =>
    new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
  const faulty: FaultyRedis = {
    url: server.url,
    port: server.port,
    get pid() {
      return server.process.pid;
    },
    freeze: () => void server.process.kill('SIGSTOP'),
    thaw: () => void server.process.kill('SIGCONT'),
    kill: async () => {
      server.process.kill('SIGKILL');
      await exited(server.process);
    },
    restart: async () => {
      await faulty.kill();
      server = await startRedisServer(server.port, options);
    },
    stop: async () => {
      server.process.kill('SIGCONT');
      await server.stop();
    },
  };
  return faulty;
}

export interface RedisServerOptions {
  /**
   * Keep every write in an append-only file in this folder, synced before each answer
   * (`appendfsync always`), so a kill and restart loses nothing, as a production Redis configured
   * for durability does. Without it the server keeps nothing on disk.
   */
  appendOnlyDir?: string;
}

/**
 * Starts a throwaway `redis-server` on `port` (a free one by default) that keeps nothing on disk
 * unless `options.appendOnlyDir` is given. Rejects with a message saying how to install one when
 * the binary is missing.
 */
export async function startRedisServer(port?: number, options: RedisServerOptions = {}): Promise<RedisServerProcess> {
  const chosen = port ?? (await freePort());
  const persistence = options.appendOnlyDir
    ? ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', options.appendOnlyDir]
    : ['--appendonly', 'no'];
  const child = spawn('redis-server', ['--port', String(chosen), '--bind', '127.0.0.1', '--save', '', ...persistence, '--daemonize', 'no'], {
    stdio: 'ignore',
  });
  const url = `redis://127.0.0.1:${chosen}`;
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (error) =>
      reject(
        new Error(
          `Cannot start redis-server (${error.message}). Install it (apt-get install redis-server) ` +
            'or point REDIS_URL at a running Redis.',
        ),
      ),
    );
  });
  const ready = (async () => {
    for (let attempt = 0; attempt < 100; attempt += 1) {
      if (await redisAnswers(url, 200)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`redis-server on port ${chosen} did not answer within 5 s`);
  })();
  await Promise.race([ready, failed]);
  return {
    url,
    port: chosen,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
