import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import Redis from 'ioredis';
import { loadConfig } from '@app/config';
import type { AppModuleOptions } from '../apps/api/src/app.module';
import { createApp } from '../apps/api/src/bootstrap';
import { redisAnswers, startRedisServer, type RedisServerProcess } from '../test/support/redis-server';

/** The Redis a benchmark uses: `REDIS_URL`, else 127.0.0.1:6379 when it answers, else one started here. */
export async function benchRedis(): Promise<{ url: string; server?: RedisServerProcess }> {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL };
  if (await redisAnswers('redis://127.0.0.1:6379')) return { url: 'redis://127.0.0.1:6379' };
  const server = await startRedisServer();
  return { url: server.url, server };
}

export interface BenchApp {
  app: NestFastifyApplication;
  /** `http://127.0.0.1:<port>` of the listening app. */
  baseUrl: string;
}

/**
 * Boots the real app as production runs it (JSON logs at warn, Redis configured) on a free port,
 * with a fresh SQLite file and a cache key prefix of its own; `env` overrides any of it.
 */
export async function startBenchApp(
  redisUrl: string,
  options: AppModuleOptions & { env?: Record<string, string> } = {},
): Promise<BenchApp> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jarek-va-bench-'));
  const config = loadConfig({
    ...process.env,
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    REDIS_URL: redisUrl,
    WEBHOOK_SECRET: 'bench-webhook-secret',
    TELEGRAM_WEBHOOK_SECRET: 'bench-telegram-secret',
    DATABASE_URL: `file:${path.join(dataDir, 'bench.sqlite3')}`,
    CACHE_KEY_PREFIX: `bench-${process.pid}`,
    ...options.env,
  });
  const app = await createApp(config, options);
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address();
  return { app, baseUrl: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` };
}

/** Deletes the keys a benchmark created in a shared Redis: every key containing `prefix`. */
export async function deleteBenchKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl);
  try {
    for await (const keys of redis.scanStream({ match: `*${prefix}*`, count: 1_000 }) as AsyncIterable<string[]>) {
      if (keys.length > 0) await redis.unlink(...keys);
    }
  } finally {
    await redis.quit();
  }
}

/** Writes `bench/results/<name>.json` and returns its path relative to the working directory. */
export function writeBenchResults(name: string, results: Record<string, unknown>): string {
  const outDir = path.join(__dirname, 'results');
  fs.mkdirSync(outDir, { recursive: true });
  const outFile = path.join(outDir, `${name}.json`);
  fs.writeFileSync(
    outFile,
    JSON.stringify(
      { benchmark: name, date: new Date().toISOString(), machine: { cpus: os.cpus().length, node: process.version }, ...results },
      null,
      2,
    ),
  );
  return path.relative(process.cwd(), outFile);
}

/** Runs a benchmark's `main`; a failure prints its error and exits with status 1. */
export function runBenchmark(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
