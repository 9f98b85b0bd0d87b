import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadConfig, type AppConfig } from '@app/config';
import { __resetOutOfContextForTests } from 'nestjs-pino/PinoLogger';
import type { AppModuleOptions } from '../../apps/api/src/app.module';
import { createApp } from '../../apps/api/src/bootstrap';
import { contractViolations, openApiDocument, recordResponses } from './openapi-contract';
import { recordKeyPrefixes } from './redis-key-ledger';
import { removeRedisKeys } from './redis-keys';

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

/** A route as the app mapped it, e.g. `{method: 'PATCH', url: '/telegram/bots/:id'}`. */
export interface MappedRoute {
  method: string;
  url: string;
}

export interface TestApp {
  app: NestFastifyApplication;
  /** Every route the app mapped, read from Fastify as it registered them. */
  routes: MappedRoute[];
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

/**
 * Boots the real application on a free loopback port against a real SQLite file. Every response it
 * sends is checked against the OpenAPI document when it closes: `close()` fails naming each
 * response whose route, status or JSON body the document does not describe.
 */
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
  const routes: MappedRoute[] = [];
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRoute', ({ method, url }) => {
      for (const one of [method].flat()) if (one !== 'HEAD') routes.push({ method: one, url });
    });
  const responses = recordResponses(app.getHttpAdapter().getInstance());
  const keyPrefixes = sharedRedisKeyPrefixes(config);
  try {
    await app.listen(options.port ?? 0, '127.0.0.1');
  } catch (error) {
    // A boot refused while the modules start (a misplaced decorator, a bad configuration) leaves
    // what was built open — Redis connections, queues — which held Jest open after the run.
    await app.close().catch(() => undefined);
    await releaseKeyPrefixes(keyPrefixes);
    throw error;
  }
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    app,
    routes,
    config,
    baseUrl: `http://127.0.0.1:${port}`,
    logs,
    databaseFile,
    close: async () => {
      await app.close();
      await releaseKeyPrefixes(keyPrefixes);
      const violations = contractViolations(await openApiDocument(), responses, {
        hasFixtureRoutes: (options.extraModules ?? []).length > 0,
      });
      if (violations.length === 0) return;
      // Closed from the file's top-level afterAll, which Jest runs after the root check: throw, as nothing reports them later.
      if (contractCheckRan) throw contractError(violations);
      unreportedViolations.push(...violations);
    },
  };
}

/**
 * Answers of this test file's apps that disagree with the OpenAPI document, found as each app closed.
 * `close()` does not throw them: a throw there skipped the rest of the suite's cleanup (its fakes, its
 * redis-server), whose open handles then kept Jest from exiting. They fail the file instead, from the
 * root `afterAll` of `contract.after-env.ts`, which Jest runs after the `afterAll` hooks of the file's
 * `describe` blocks but before the file's own top-level ones; an app closed there throws from `close()`.
 */
const unreportedViolations: string[] = [];
let contractCheckRan = false;

function contractError(violations: string[]): Error {
  return new Error(`Responses that disagree with the OpenAPI document:\n${violations.join('\n')}`);
}

/** Fails the file with the violations recorded so far (the root check); apps closed later throw their own. */
export function checkContractViolations(): void {
  contractCheckRan = true;
  const violations = unreportedViolations.splice(0);
  if (violations.length > 0) throw contractError(violations);
}

/** How many open test apps of this test file use each key prefix in the shared Redis. */
const openPrefixUsers = new Map<string, number>();

/**
 * The prefixes under which an app writes to the run's shared Redis (cache entries, queue jobs), or
 * none when it uses no Redis or a private `redis-server` of its own test. Each is recorded for the
 * global teardown's check that a run leaves nothing behind.
 */
function sharedRedisKeyPrefixes(config: AppConfig): string[] {
  if (config.redis?.kind !== 'standalone' || config.redis.url !== process.env.TEST_REDIS_URL) return [];
  const prefixes = [`${config.cache.keyPrefix}:`, `${config.queue.prefix}:`];
  recordKeyPrefixes(config.redis.url, prefixes);
  for (const prefix of prefixes) openPrefixUsers.set(prefix, (openPrefixUsers.get(prefix) ?? 0) + 1);
  return prefixes;
}

/** Removes a closed app's keys once no other open app of the test shares its prefix. */
async function releaseKeyPrefixes(prefixes: readonly string[]): Promise<void> {
  for (const prefix of prefixes) {
    const users = (openPrefixUsers.get(prefix) ?? 1) - 1;
    if (users > 0) {
      openPrefixUsers.set(prefix, users);
      continue;
    }
    openPrefixUsers.delete(prefix);
    await removeRedisKeys(testRedisUrl(), prefix);
  }
}
