import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadConfig, type AppConfig } from '@app/config';
import { __resetOutOfContextForTests } from 'nestjs-pino/PinoLogger';
import type { AppModuleOptions } from '../../apps/api/src/app.module';
import { createApp } from '../../apps/api/src/bootstrap';

/** The Redis the global setup found or started for this run. */
export function testRedisUrl(): string {
  const url = process.env.TEST_REDIS_URL;
  if (!url) throw new Error('TEST_REDIS_URL is not set: the jest global setup did not run');
  return url;
}

/** Collects the app's JSON log lines so tests can assert on them. */
export class LogCapture extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  readonly raw: string[] = [];

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
      this.raw.push(line);
      this.lines.push(JSON.parse(line) as Record<string, unknown>);
    }
    callback();
  }
}

export interface TestApp {
  app: NestFastifyApplication;
  config: AppConfig;
  /** `http://127.0.0.1:<port>` of the listening app. */
  baseUrl: string;
  logs: LogCapture;
  databaseFile: string;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Environment on top of the test defaults (a fresh SQLite file, no Redis, info logs). */
  env?: Record<string, string | undefined>;
  /** Reuse this database file instead of a fresh one (two instances sharing one database). */
  databaseFile?: string;
  /** Fixture modules composed into the app. */
  extraModules?: AppModuleOptions['extraModules'];
  /** Listen on this port instead of one the OS picks (to hand out the app's own URL, e.g. for callbacks). */
  port?: number;
}

/** Boots the real application on a free loopback port against a real SQLite file. */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const databaseFile =
    options.databaseFile ?? path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'jarek-va-test-')), 'shared.sqlite3');
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    DATABASE_URL: `file:${databaseFile}`,
    WEBHOOK_SECRET: 'test-webhook-secret',
    TELEGRAM_WEBHOOK_SECRET: 'test-telegram-secret',
    ...options.env,
  });
  const logs = new LogCapture();
  // nestjs-pino keeps one process-wide logger for lines written outside a request; without the
  // reset, every app after the first would log its startup into the first app's capture.
  __resetOutOfContextForTests();
  const app = await createApp(config, { logging: { destination: logs }, extraModules: options.extraModules });
  await app.listen(options.port ?? 0, '127.0.0.1');
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    app,
    config,
    baseUrl: `http://127.0.0.1:${port}`,
    logs,
    databaseFile,
    close: () => app.close(),
  };
}
