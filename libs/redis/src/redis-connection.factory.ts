import { Logger } from '@nestjs/common';
import Redis, { type RedisOptions } from 'ioredis';

/** Reconnect delay grows by this much per attempt, in milliseconds, up to the cap below. */
const RECONNECT_STEP_MS = 100;
const RECONNECT_CAP_MS = 2_000;

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

/**
 * Opens a connection and logs its state changes once each: one warning when it goes down (with
 * the cause), one line when it is ready again; repeated errors during one outage stay quiet.
 */
export function createRedisConnection(url: string, role: string, logger: Logger, options: RedisOptions = {}): Redis {
  const connection = new Redis(url, { ...redisConnectionOptions, ...options, connectionName: role });
  const target = describeRedisUrl(url);
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
  return connection;
}

/**
 * Resolves once the connection is ready, has failed its first attempt, or `timeoutMs` has passed,
 * whichever comes first. Boot waits this long so the first requests find Redis connected, yet an
 * absent Redis never stops the service from starting: it serves degraded and reconnects.
 */
export function settleFirstConnect(connection: Redis, timeoutMs: number): Promise<void> {
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
