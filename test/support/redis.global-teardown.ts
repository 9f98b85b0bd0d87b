import type { RedisServerProcess } from './redis-server';

export default async function globalTeardown(): Promise<void> {
  const server = (globalThis as { __testRedisServer?: RedisServerProcess }).__testRedisServer;
  await server?.stop();
}
