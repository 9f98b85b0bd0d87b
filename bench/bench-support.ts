import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { redisAnswers, startRedisServer, type RedisServerProcess } from '../test/support/redis-server';

/** `REDIS_URL`, else a local Redis on 6379, else a `redis-server` started for the run. */
export async function benchRedis(): Promise<{ url: string; server?: RedisServerProcess }> {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL };
  if (await redisAnswers('redis://127.0.0.1:6379')) return { url: 'redis://127.0.0.1:6379' };
  const server = await startRedisServer();
  return { url: server.url, server };
}

/** A fresh SQLite file for one run, as a `DATABASE_URL`. */
export function benchDatabaseUrl(): string {
  return `file:${path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'jarek-va-bench-')), 'bench.sqlite3')}`;
}

/** The value at quantile `q` (0–1) of `samples`, nearest rank. */
export function quantile(samples: readonly number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** Writes `bench/results/<name>.json` with the machine's description; returns the relative path. */
export function writeResults(name: string, results: Record<string, unknown>): string {
  const outDir = path.join(__dirname, 'results');
  fs.mkdirSync(outDir, { recursive: true });
  const outFile = path.join(outDir, `${name}.json`);
  const document = {
    benchmark: name,
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, node: process.version },
    ...results,
  };
  fs.writeFileSync(outFile, JSON.stringify(document, null, 2));
  return path.relative(process.cwd(), outFile);
}
