import * as os from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';
import {
  environmentSchema,
  INSECURE_SECRET_DEFAULT,
  SECRET_VARIABLES,
  type Environment,
} from './config.schema';

/** Thrown when the environment is invalid; the message is one line naming the variable. */
export class ConfigValidationError extends Error {
  override readonly name = 'ConfigValidationError';
}

export interface RedisNodeAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * Which Redis the service runs on, from exactly one of `REDIS_URL` (one server), `REDIS_SENTINELS`
 * (a Sentinel-managed primary, found by `REDIS_SENTINEL_NAME`) or `REDIS_CLUSTER_NODES` (a Redis
 * Cluster, from its seed nodes). Passwords and TLS of the last two come from `REDIS_PASSWORD`,
 * `REDIS_SENTINEL_PASSWORD` and `REDIS_TLS`; a `REDIS_URL` carries its own.
 */
export type RedisTopology =
  | { readonly kind: 'standalone'; readonly url: string }
  | {
      readonly kind: 'sentinel';
      readonly sentinels: readonly RedisNodeAddress[];
      readonly name: string;
      readonly password: string | undefined;
      readonly sentinelPassword: string | undefined;
      readonly tls: boolean;
    }
  | {
      readonly kind: 'cluster';
      readonly nodes: readonly RedisNodeAddress[];
      readonly password: string | undefined;
      readonly tls: boolean;
    };

/**
 * The validated, typed configuration, read once at boot. It is also the DI token: inject it as
 * `constructor(private readonly config: AppConfig)`.
 */
export abstract class AppConfig {
  abstract readonly env: Environment['NODE_ENV'];
  /**
   * What this process does (`APP_ROLE`): `all` serves HTTP and runs the queues' jobs, `api` serves
   * HTTP and only queues jobs, `worker` runs jobs and serves only its probes and `/metrics`.
   */
  abstract readonly role: AppRole;
  /** This process's name in `/metrics` labels and `/admin/cache/stats` (`INSTANCE_ID`, default the host name). */
  abstract readonly instanceId: string;
  abstract readonly isProduction: boolean;
  abstract readonly http: {
    readonly port: number;
    readonly host: string;
    /** Largest accepted request body, in bytes; larger bodies get 413. */
    readonly bodyLimitBytes: number;
    /** The same for `POST /cursor-runner/callback` alone, which carries whole agent outputs. */
    readonly callbackBodyLimitBytes: number;
    /** How long shutdown waits for in-flight requests, in milliseconds. */
    readonly shutdownTimeoutMs: number;
    /**
     * Longest a request may take to arrive, headers and body, in milliseconds; a slower one is
     * answered 408 and its connection closed, so a client that trickles a body cannot hold it.
     */
    readonly requestTimeoutMs: number;
    readonly corsEnabled: boolean;
    readonly corsOrigins: readonly string[];
  };
  abstract readonly logLevel: Environment['LOG_LEVEL'];
  abstract readonly app: { readonly name: string; readonly version: string };
  abstract readonly secrets: {
    /** Admin, callback and agent-tools secret (`WEBHOOK_SECRET`). */
    readonly webhook: string;
    readonly telegramWebhook: string;
  };
  abstract readonly telegram: {
    readonly botToken: string | undefined;
    readonly webhookBaseUrl: string;
    readonly apiBaseUrl: string;
    /** Deadline of one Bot API call or file download (connect, send, read), in milliseconds. */
    readonly timeoutMs: number;
  };
  abstract readonly cursorRunner: {
    readonly url: string;
    /** Request timeout, in seconds. */
    readonly timeoutSeconds: number;
    /**
     * Base URL at which cursor-runner reaches this service for callbacks
     * (`CURSOR_RUNNER_CALLBACK_BASE_URL`, default `TELEGRAM_WEBHOOK_BASE_URL`).
     */
    readonly callbackBaseUrl: string;
    /**
     * Whether the callback URL handed to cursor-runner carries `?secret=<WEBHOOK_SECRET>`
     * (`CURSOR_RUNNER_CALLBACK_SECRET_IN_URL`): only for a cursor-runner without a `WEBHOOK_SECRET`
     * of its own, as cursor-runner logs that URL.
     */
    readonly callbackSecretInUrl: boolean;
  };
  /** Delivery of cursor-runner results to Telegram (the callback route). */
  abstract readonly callbacks: {
    /** Tries of one delivery, the first included, when Telegram fails transiently (1–10, default 3). */
    readonly deliveryAttempts: number;
    /**
     * Wait before the second try, in milliseconds, doubling before each later one (default 1000);
     * a 429's `retry_after` replaces it.
     */
    readonly retryDelayMs: number;
    /**
     * How long a callback that Redis cannot take (the pending request store or the queue) is tried
     * again before it is answered 503 and logged for a replay, in milliseconds (0–25000, default
     * 20000): cursor-runner sends a result once and waits 30 s for the answer.
     */
    readonly redisWaitMs: number;
    /**
     * How many bytes of callbacks (their fields as JSON) may wait for Redis at once (1 MiB–4 GiB,
     * default 256 MiB): one that would go past it is answered 503 after its one try, logged for a replay.
     */
    readonly waitMaxBytes: number;
  };
  /** `undefined` selects the embedded mode: in-process stores, no Redis. */
  abstract readonly redis: RedisTopology | undefined;
  /**
   * Budget of one Redis state command (pending requests, delivery claims, update deduplication,
   * queueing a job), in milliseconds: past it the command counts as failed and the request answers
   * 503 instead of waiting for a Redis that hangs.
   */
  abstract readonly redisCommandTimeoutMs: number;
  abstract readonly database: {
    readonly url: string;
    /** Absolute path of the SQLite file. */
    readonly filePath: string;
  };
  abstract readonly elevenLabs: {
    readonly apiKey: string | undefined;
    readonly apiBaseUrl: string;
    readonly sttModelId: string;
    readonly ttsModelId: string;
    readonly voiceId: string;
    /** Deadline of one ElevenLabs call — connecting, uploading and reading the answer — in milliseconds. */
    readonly timeoutMs: number;
  };
  abstract readonly defaultNotesRepository: string | undefined;
  abstract readonly cache: {
    /** First segment of every cache key (`<prefix>:<schemaVersion>:<namespace>:…`). */
    readonly keyPrefix: string;
    /** Bump on a deploy that changes a cached shape: old entries become unreachable. */
    readonly schemaVersion: string;
    /** Default L1 bound per namespace, in entries. */
    readonly l1MaxEntries: number;
    /** TTL of `CACHE_MANAGER` entries stored without one, in milliseconds. */
    readonly defaultTtlMs: number;
    /** Longest an L2 (Redis) operation may take before it counts as failed, in milliseconds. */
    readonly l2TimeoutMs: number;
    /** Consecutive L2 failures that open the circuit breaker. */
    readonly breakerFailures: number;
    /** How long an open breaker skips L2 before trying again, in milliseconds. */
    readonly breakerCooldownMs: number;
    /** Interval of the L1 prune job, in milliseconds. */
    readonly pruneIntervalMs: number;
    /** Redis pub/sub channel of cross-instance invalidation events. */
    readonly invalidationChannel: string;
    /**
     * Interval of the PING on the invalidation subscriber, in milliseconds. Two intervals without
     * an answer and the instance stops trusting its L1 until the subscription answers again.
     */
    readonly invalidationHeartbeatMs: number;
  };
  abstract readonly queue: {
    /**
     * First segment of every job queue key in Redis (`QUEUE_PREFIX`, default `bull:<CACHE_KEY_PREFIX>`):
     * apps sharing one Redis with different prefixes never take each other's jobs.
     */
    readonly prefix: string;
    /** Jobs one process runs at once, per queue. */
    readonly concurrency: number;
    /** Delay before the first retry of a failed job, in milliseconds; doubled for each further retry. */
    readonly retryDelayMs: number;
    /**
     * How long a running job's lock lives without renewal, in milliseconds (renewed every half of
     * it): a job whose worker died is given to another once its lock has expired.
     */
    readonly lockDurationMs: number;
    /** Interval of the check that gives jobs with an expired lock to a worker again, in milliseconds. */
    readonly stalledIntervalMs: number;
    /**
     * Times a job may be cut short (its worker killed, its lock lost) and still run normally; the
     * run after one more interruption only tells the user and ends the job.
     */
    readonly maxStalledCount: number;
  };
  abstract readonly health: {
    /** Longest one readiness check (Redis, cache, database) may take before it reports down, in milliseconds. */
    readonly checkTimeoutMs: number;
  };
  /** `GET /openapi.json` and the `GET /docs` page (`DOCS_ENABLED`, default on outside production). */
  abstract readonly docs: { readonly enabled: boolean };
}

export type AppRole = Environment['APP_ROLE'];

/** Whether a process of `role` answers the feature routes (webhooks, callbacks, admin, tools). */
export function servesFeatureRoutes(role: AppRole): boolean {
  return role !== 'worker';
}

/** Whether a process of `role` runs queued jobs. */
export function runsJobs(role: AppRole): boolean {
  return role !== 'api';
}

const DEFAULT_DATABASE_FILE = './data/shared.sqlite3';

function describeIssue(issue: z.core.$ZodIssue, source: NodeJS.ProcessEnv): string {
  const variable = String(issue.path[0] ?? 'environment');
  const raw = source[variable];
  const shown =
    raw === undefined || (SECRET_VARIABLES as readonly string[]).includes(variable)
      ? ''
      : ` (got ${JSON.stringify(withoutCredentials(raw))})`;
  return `${variable} ${issue.message}${shown}`;
}

/** `scheme:` and the slashes or backslashes after it, which credentials follow when a URL has them. */
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:[/\\]*/;

/**
 * A refused value as it may be shown. Everything from the scheme to the last `@` is replaced —
 * however the URL was mistyped (`https:user:pw@host` without `//`) and whatever the password holds
 * (`@`, `/`, `?`, `#`), what stands before an `@` may be a password — and so is a host part holding a
 * `:` followed by anything but a port (`http://user:pw`, no `@`). Then a query and a fragment are
 * replaced (a token rides there). A value with an `@` elsewhere loses more than it must, never a password.
 */
function withoutCredentials(value: string): string {
  const start = SCHEME.exec(value)?.[0].length ?? 0;
  const at = value.lastIndexOf('@');
  let rest: string;
  let shown: string;
  if (at >= start) {
    shown = `${value.slice(0, start)}<credentials>@`;
    rest = value.slice(at + 1);
  } else {
    const hostEnd = value.slice(start).search(/[/?#]/);
    const host = hostEnd === -1 ? value.slice(start) : value.slice(start, start + hostEnd);
    shown = `${value.slice(0, start)}${/^[^:]*(:\d*)?$/.test(host) || /^\[[^\]]*\](:\d*)?$/.test(host) ? host : '<credentials>'}`;
    rest = value.slice(start + host.length);
  }
  const end = rest.search(/[?#]/);
  return end === -1 ? `${shown}${rest}` : `${shown}${rest.slice(0, end)}${rest[end] === '?' ? '?<query>' : '#<fragment>'}`;
}

const REDIS_CHOICES = 'REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES';

/** cursor-runner's 30 s wait for a callback's answer, less a margin for the network and the body. */
const CURSOR_RUNNER_CALLBACK_PATIENCE_MS = 28_000;

/** A hash tag (`{…}` with something inside) keeps every key of a queue in one Cluster slot. */
function hasHashTag(key: string): boolean {
  return /\{[^}]+\}/.test(key);
}

function redisProblems(env: Environment): string[] {
  const chosen = (['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'] as const).filter((variable) => env[variable] !== undefined);
  const problems: string[] = [];
  if (chosen.length > 1) {
    problems.push(`set exactly one of ${REDIS_CHOICES} (got ${chosen.join(' and ')})`);
  }
  if (env.REDIS_SENTINELS && !env.REDIS_SENTINEL_NAME) {
    problems.push('REDIS_SENTINELS needs REDIS_SENTINEL_NAME, the name the sentinels monitor the primary under');
  }
  if (env.REDIS_SENTINEL_NAME && !env.REDIS_SENTINELS) problems.push('REDIS_SENTINEL_NAME is set without REDIS_SENTINELS');
  if (env.REDIS_SENTINEL_PASSWORD && !env.REDIS_SENTINELS) {
    problems.push('REDIS_SENTINEL_PASSWORD is set without REDIS_SENTINELS');
  }
  if (env.REDIS_URL && (env.REDIS_PASSWORD || env.REDIS_TLS)) {
    problems.push('REDIS_PASSWORD and REDIS_TLS apply to REDIS_SENTINELS and REDIS_CLUSTER_NODES; REDIS_URL carries its own (redis://:password@host, rediss://)');
  }
  if (!env.REDIS_URL && !env.REDIS_SENTINELS && !env.REDIS_CLUSTER_NODES && (env.REDIS_PASSWORD || env.REDIS_TLS)) {
    problems.push('REDIS_PASSWORD and REDIS_TLS are set without REDIS_SENTINELS or REDIS_CLUSTER_NODES, which they apply to');
  }
  // A namespace clear removes every key under `<CACHE_KEY_PREFIX>:`…, the job queues' included.
  if (env.QUEUE_PREFIX?.replace(/[{}]/g, '').startsWith(`${env.CACHE_KEY_PREFIX}:`)) {
    problems.push(`QUEUE_PREFIX must not start with "${env.CACHE_KEY_PREFIX}:", the cache's keys (CACHE_KEY_PREFIX): clearing a cache namespace could delete job queue keys`);
  }
  // A callback's last try may take its commands' budgets past the wait; cursor-runner gives up after 30 s.
  if (env.CALLBACK_REDIS_WAIT_MS + 2 * env.REDIS_COMMAND_TIMEOUT_MS > CURSOR_RUNNER_CALLBACK_PATIENCE_MS) {
    problems.push(
      `CALLBACK_REDIS_WAIT_MS plus twice REDIS_COMMAND_TIMEOUT_MS must stay within ${CURSOR_RUNNER_CALLBACK_PATIENCE_MS} ms (got ${env.CALLBACK_REDIS_WAIT_MS} + 2 × ${env.REDIS_COMMAND_TIMEOUT_MS}): cursor-runner stops waiting for a callback's answer after 30 s`,
    );
  }
  if (env.REDIS_CLUSTER_NODES && env.QUEUE_PREFIX && !hasHashTag(env.QUEUE_PREFIX)) {
    problems.push(
      `QUEUE_PREFIX must contain a hash tag such as {${env.QUEUE_PREFIX}} with REDIS_CLUSTER_NODES: BullMQ's scripts touch several keys of a queue at once, which a Cluster allows only within one slot`,
    );
  }
  return problems;
}

function resolveRedis(env: Environment): RedisTopology | undefined {
  if (env.REDIS_URL) return { kind: 'standalone', url: env.REDIS_URL };
  if (env.REDIS_SENTINELS && env.REDIS_SENTINEL_NAME) {
    return {
      kind: 'sentinel',
      sentinels: env.REDIS_SENTINELS,
      name: env.REDIS_SENTINEL_NAME,
      password: env.REDIS_PASSWORD,
      sentinelPassword: env.REDIS_SENTINEL_PASSWORD,
      tls: env.REDIS_TLS,
    };
  }
  if (env.REDIS_CLUSTER_NODES) {
    return { kind: 'cluster', nodes: env.REDIS_CLUSTER_NODES, password: env.REDIS_PASSWORD, tls: env.REDIS_TLS };
  }
  return undefined;
}

function combinationProblems(env: Environment): string[] {
  const problems = redisProblems(env);
  const redisChosen = Boolean(env.REDIS_URL ?? env.REDIS_SENTINELS ?? env.REDIS_CLUSTER_NODES);
  if (env.APP_ROLE !== 'all' && !redisChosen) {
    problems.push(
      `APP_ROLE=${env.APP_ROLE} needs ${REDIS_CHOICES}: API and workers share their job queue in Redis, so the embedded mode runs APP_ROLE=all only`,
    );
  }
  if (env.CORS_ENABLED && env.CORS_ORIGIN.split(',').every((origin) => origin.trim() === '')) {
    problems.push('CORS_ORIGIN must name at least one origin (or *) when CORS_ENABLED=true: a list of blanks allows none');
  }
  if (env.NODE_ENV !== 'production') return problems;
  if (!redisChosen) problems.push(`${REDIS_CHOICES} is required when NODE_ENV=production`);
  for (const variable of ['WEBHOOK_SECRET', 'TELEGRAM_WEBHOOK_SECRET'] as const) {
    if (env[variable] === INSECURE_SECRET_DEFAULT) {
      problems.push(`${variable} must be set to a real secret when NODE_ENV=production (the default "changeme" is refused)`);
    }
  }
  return problems;
}

function resolveDatabase(env: Environment, cwd: string): AppConfig['database'] {
  const url = env.DATABASE_URL ?? `file:${env.SHARED_DB_PATH ?? DEFAULT_DATABASE_FILE}`;
  const filePath = path.resolve(cwd, url.slice('file:'.length).replace(/^\/\/(?=\/)/, ''));
  return { url: `file:${filePath}`, filePath };
}

/**
 * Validates `source` (normally `process.env`) and returns the typed configuration.
 * @throws ConfigValidationError with one line naming the first bad variable.
 */
export function loadConfig(source: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): AppConfig {
  const parsed = environmentSchema.safeParse(source);
  if (!parsed.success) {
    throw new ConfigValidationError(
      `Invalid configuration: ${parsed.error.issues.map((issue) => describeIssue(issue, source)).join('; ')}`,
    );
  }
  const env = parsed.data;
  const problems = combinationProblems(env);
  if (problems.length > 0) {
    throw new ConfigValidationError(`Invalid configuration: ${problems.join('; ')}`);
  }
  return Object.freeze({
    env: env.NODE_ENV,
    role: env.APP_ROLE,
    instanceId: env.INSTANCE_ID ?? os.hostname(),
    isProduction: env.NODE_ENV === 'production',
    http: {
      port: env.PORT,
      host: env.HOST,
      bodyLimitBytes: env.BODY_LIMIT_BYTES,
      callbackBodyLimitBytes: env.CALLBACK_BODY_LIMIT_BYTES,
      shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
      requestTimeoutMs: env.HTTP_REQUEST_TIMEOUT_MS,
      corsEnabled: env.CORS_ENABLED,
      corsOrigins: env.CORS_ORIGIN.split(',').map((origin) => origin.trim()).filter(Boolean),
    },
    logLevel: env.LOG_LEVEL,
    app: { name: env.APP_NAME, version: env.APP_VERSION },
    secrets: { webhook: env.WEBHOOK_SECRET, telegramWebhook: env.TELEGRAM_WEBHOOK_SECRET },
    telegram: {
      botToken: env.TELEGRAM_BOT_TOKEN,
      webhookBaseUrl: env.TELEGRAM_WEBHOOK_BASE_URL,
      apiBaseUrl: env.TELEGRAM_API_BASE_URL,
      timeoutMs: env.TELEGRAM_TIMEOUT_MS,
    },
    cursorRunner: {
      url: env.CURSOR_RUNNER_URL,
      timeoutSeconds: env.CURSOR_RUNNER_TIMEOUT,
      callbackBaseUrl: env.CURSOR_RUNNER_CALLBACK_BASE_URL ?? env.TELEGRAM_WEBHOOK_BASE_URL,
      callbackSecretInUrl: env.CURSOR_RUNNER_CALLBACK_SECRET_IN_URL,
    },
    callbacks: {
      deliveryAttempts: env.CALLBACK_DELIVERY_ATTEMPTS,
      retryDelayMs: env.CALLBACK_DELIVERY_RETRY_DELAY_MS,
      redisWaitMs: env.CALLBACK_REDIS_WAIT_MS,
      waitMaxBytes: env.CALLBACK_WAIT_MAX_BYTES,
    },
    redis: resolveRedis(env),
    redisCommandTimeoutMs: env.REDIS_COMMAND_TIMEOUT_MS,
    database: resolveDatabase(env, cwd),
    elevenLabs: {
      apiKey: env.ELEVENLABS_API_KEY,
      apiBaseUrl: env.ELEVENLABS_API_BASE_URL,
      sttModelId: env.ELEVENLABS_STT_MODEL_ID,
      ttsModelId: env.ELEVENLABS_TTS_MODEL_ID,
      voiceId: env.ELEVENLABS_VOICE_ID,
      timeoutMs: env.ELEVENLABS_TIMEOUT_MS,
    },
    cache: {
      keyPrefix: env.CACHE_KEY_PREFIX,
      schemaVersion: env.CACHE_SCHEMA_VERSION,
      l1MaxEntries: env.CACHE_L1_MAX_ENTRIES,
      defaultTtlMs: env.CACHE_DEFAULT_TTL_MS,
      l2TimeoutMs: env.CACHE_L2_TIMEOUT_MS,
      breakerFailures: env.CACHE_BREAKER_FAILURES,
      breakerCooldownMs: env.CACHE_BREAKER_COOLDOWN_MS,
      pruneIntervalMs: env.CACHE_PRUNE_INTERVAL_MS,
      invalidationChannel: env.CACHE_INVALIDATION_CHANNEL,
      invalidationHeartbeatMs: env.CACHE_INVALIDATION_HEARTBEAT_MS,
    },
    defaultNotesRepository: env.DEFAULT_NOTES_REPOSITORY,
    queue: {
      // On a Cluster, the default carries a hash tag so that each queue's keys share one slot.
      prefix: env.QUEUE_PREFIX ?? (env.REDIS_CLUSTER_NODES ? `{bull:${env.CACHE_KEY_PREFIX}}` : `bull:${env.CACHE_KEY_PREFIX}`),
      concurrency: env.QUEUE_CONCURRENCY,
      retryDelayMs: env.QUEUE_RETRY_DELAY_MS,
      lockDurationMs: env.QUEUE_LOCK_DURATION_MS,
      stalledIntervalMs: env.QUEUE_STALLED_INTERVAL_MS,
      maxStalledCount: env.QUEUE_MAX_STALLED_COUNT,
    },
    health: { checkTimeoutMs: env.HEALTH_CHECK_TIMEOUT_MS },
    docs: { enabled: env.DOCS_ENABLED ?? env.NODE_ENV !== 'production' },
  });
}
