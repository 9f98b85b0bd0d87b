import { createKeyLedger } from './redis-key-ledger';
import { redisAnswers, startRedisServer } from './redis-server';

const LOCAL_REDIS = 'redis://127.0.0.1:6379';

/**
 * The e2e suites need a real Redis: `REDIS_URL` when set, else a local one on 6379 when it answers,
 * else a `redis-server` started here on a free port. No Redis at all is a failure, never a skip.
 * The chosen URL reaches the test workers as `TEST_REDIS_URL`.
 */
export default async function globalSetup(): Promise<void> {
  createKeyLedger();
  const configured = process.env.REDIS_URL;
  if (configured) {
    if (!(await redisAnswers(configured))) {
      throw new Error(`REDIS_URL=${configured} does not answer PING; start that Redis or unset REDIS_URL.`);
    }
    process.env.TEST_REDIS_URL = configured;
    return;
  }
  if (await redisAnswers(LOCAL_REDIS)) {
    process.env.TEST_REDIS_URL = LOCAL_REDIS;
    return;
  }
  const server = await startRedisServer();
  (globalThis as { __testRedisServer?: unknown }).__testRedisServer = server;
  process.env.TEST_REDIS_URL = server.url;
}
