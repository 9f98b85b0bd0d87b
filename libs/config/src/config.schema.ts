import { z } from 'zod';

/** The secrets' default, shared with the other services' defaults; accepted in development, refused in production. */
export const INSECURE_SECRET_DEFAULT = 'changeme';

/** Variables whose values must never be echoed, not even in a validation error. */
export const SECRET_VARIABLES = [
  'WEBHOOK_SECRET',
  'TELEGRAM_BOT_TOKEN',
  'TELEGRAM_WEBHOOK_SECRET',
  'ELEVENLABS_API_KEY',
  'REDIS_URL',
  'REDIS_PASSWORD',
  'REDIS_SENTINEL_PASSWORD',
] as const;

const blankToUndefined = (value: unknown) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

const optionalText = () => z.preprocess(blankToUndefined, z.string().trim().optional());

const text = (fallback: string) =>
  z.preprocess(blankToUndefined, z.string().trim().default(fallback));

/**
 * Decimal digits only: `Number()` would also read `0x0D99`, `1e3`, `0b11` and `5.0`, values an
 * operator did not mean as the number they become.
 */
const integer = (fallback: number, min: number, max: number) => {
  const message = `must be an integer between ${min} and ${max}`;
  return z.preprocess(
    blankToUndefined,
    z
      .string({ error: message })
      .trim()
      .regex(/^-?\d+$/, message)
      .default(String(fallback))
      .transform(Number)
      .pipe(z.number().min(min, message).max(max, message)),
  );
};

const flagValue = () =>
  z
    .string({ error: 'must be one of true, false, 1, 0' })
    .trim()
    .pipe(z.enum(['true', 'false', '1', '0'], { error: 'must be one of true, false, 1, 0' }))
    .transform((value) => value === 'true' || value === '1');

const flag = (fallback: boolean) => z.preprocess(blankToUndefined, flagValue().default(fallback));

/** A flag whose default depends on another variable: unset stays `undefined`. */
const optionalFlag = () => z.preprocess(blankToUndefined, flagValue().optional());

/**
 * A base URL that paths are appended to: a query or fragment would swallow them (`…/hook?x=1` gave
 * `…/hook?x=1/telegram/webhook`), and credentials in it would be dropped by the HTTP clients.
 */
const httpUrlText = () =>
  z
    .string()
    .trim()
    .refine((value) => /^https?:\/\/[^\s]+$/.test(value) && URL.canParse(value), { message: 'must be an http(s) URL', abort: true })
    .refine((value) => new URL(value).username === '' && new URL(value).password === '', 'must not carry credentials')
    // Port 0 is no port to connect to: the URL was accepted, and every call failed at first use.
    .refine((value) => new URL(value).port !== '0', 'must not name port 0')
    .refine((value) => !/[?#]/.test(value), 'must not have a query or fragment: paths are appended to it')
    .transform((value) => value.replace(/\/+$/, ''));

const httpUrl = (fallback: string) => z.preprocess(blankToUndefined, httpUrlText().default(fallback));

const optionalHttpUrl = () => z.preprocess(blankToUndefined, httpUrlText().optional());

/** Whether each percent escape in `text` decodes (a password with `%zz` threw URIError at connect time). */
function decodes(text: string): boolean {
  try {
    decodeURIComponent(text);
    return true;
  } catch {
    return false;
  }
}

const redisUrl = z.preprocess(
  blankToUndefined,
  z
    .string()
    .trim()
    .refine(
      (value) => /^rediss?:\/\/[^\s]+$/.test(value) && URL.canParse(value) && new URL(value).hostname !== '',
      { message: 'must be a redis:// or rediss:// URL with a host', abort: true },
    )
    .refine((value) => /^\/?(\d+)?$/.test(new URL(value).pathname), 'must name a database by its number (redis://host:6379/0), if at all')
    .refine((value) => new URL(value).port !== '0', 'must not name port 0 (the client would connect to 6379)')
    .refine((value) => !value.includes('?'), 'must not have a query (its options are not read): name the database in the path')
    .refine((value) => decodes(new URL(value).username) && decodes(new URL(value).password), 'has a user or password with a malformed percent escape')
    .optional(),
);

/** One `host:port` of a seed list; an IPv6 address in brackets (`[::1]:26379`), given to the client bare. */
const HOST_PORT = /^(?:([A-Za-z0-9.-]+)|\[([0-9A-Fa-f:.]+)\]):(\d{1,5})$/;

/** `host:port,host:port,…` (at least one), as Sentinel and Cluster seed lists are written. */
const hostPortList = z.preprocess(
  blankToUndefined,
  z
    .string()
    .trim()
    .refine(
      (value) =>
        value
          .split(',')
          .map((item) => HOST_PORT.exec(item.trim()))
          // Port 0 is no port to connect to: the Redis client would quietly use its default (6379, 26379).
          .every((match) => match !== null && Number(match[3]) >= 1 && Number(match[3]) <= 65535),
      'must be a comma-separated list of host:port (a port 1-65535), an IPv6 host in brackets',
    )
    .transform((value) =>
      value.split(',').map((item) => {
        const [, name, address, port] = HOST_PORT.exec(item.trim())!;
        return { host: name ?? address, port: Number(port) };
      }),
    )
    .optional(),
);

const sqliteUrl = z.preprocess(
  blankToUndefined,
  z
    .string()
      .trim()
    .refine((value) => /^file:.+/.test(value), { message: 'must be a SQLite URL of the form file:<path>', abort: true })
    // Prisma's `?connection_limit=…` and the like are not read: they became part of the file's name.
    .refine((value) => !value.includes('?'), 'must not have a query (file:<path>; no option is read from it)')
    .optional(),
);

/**
 * The environment the service reads, one entry per variable. Defaults are the embedded ones: no
 * Redis, a SQLite file under ./data, default secrets (refused in production).
 */
export const environmentSchema = z.object({
  NODE_ENV: z.preprocess(
    blankToUndefined,
    z
      .enum(['development', 'test', 'production'], {
        error: 'must be one of development, test, production',
      })
      .default('development'),
  ),
  APP_ROLE: z.preprocess(
    blankToUndefined,
    z.enum(['all', 'api', 'worker'], { error: 'must be one of all, api, worker' }).default('all'),
  ),
  INSTANCE_ID: z.preprocess(
    blankToUndefined,
    z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,62}$/, 'must be 1-63 letters, digits, dots, colons, dashes or underscores')
      .optional(),
  ),
  PORT: integer(3000, 0, 65535),
  HOST: text('0.0.0.0'),
  LOG_LEVEL: z.preprocess(
    blankToUndefined,
    z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
        error: 'must be one of fatal, error, warn, info, debug, trace, silent',
      })
      .default('info'),
  ),
  APP_NAME: text('Virtual Assistant API'),
  APP_VERSION: text('1.0.0'),
  BODY_LIMIT_BYTES: integer(1_048_576, 1024, 104_857_600),
  // cursor-runner sends up to 10 MiB of agent output in one callback, and JSON writes a control character in six
  // bytes: 60 MiB and the rest of the body (docs/cursor-runner.md, "Sizes").
  CALLBACK_BODY_LIMIT_BYTES: integer(67_108_864, 1024, 268_435_456),
  SHUTDOWN_TIMEOUT_MS: integer(10_000, 0, 600_000),
  // Telegram's updates and the admin calls are small; a 64 MiB callback crosses a LAN in about a second.
  HTTP_REQUEST_TIMEOUT_MS: integer(60_000, 1_000, 3_600_000),

  WEBHOOK_SECRET: text(INSECURE_SECRET_DEFAULT),
  TELEGRAM_BOT_TOKEN: z.preprocess(
    blankToUndefined,
    z
      .string()
      .trim()
      .regex(/^\d+:[A-Za-z0-9_-]+$/, 'must be a bot token as BotFather gives it: <bot id>:<letters, digits, _ or ->')
      .optional(),
  ),
  // Telegram refuses any other secret_token in setWebhook.
  TELEGRAM_WEBHOOK_SECRET: z.preprocess(
    blankToUndefined,
    z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9_-]{1,256}$/, 'must be 1-256 letters, digits, underscores or dashes (what Telegram takes as a secret_token)')
      .default(INSECURE_SECRET_DEFAULT),
  ),
  TELEGRAM_WEBHOOK_BASE_URL: httpUrl('http://localhost:3000'),
  TELEGRAM_API_BASE_URL: httpUrl('https://api.telegram.org'),
  TELEGRAM_TIMEOUT_MS: integer(30_000, 100, 600_000),

  CURSOR_RUNNER_URL: httpUrl('http://localhost:3001'),
  CURSOR_RUNNER_TIMEOUT: integer(300, 1, 3600),
  CURSOR_RUNNER_CALLBACK_BASE_URL: optionalHttpUrl(),
  CURSOR_RUNNER_CALLBACK_SECRET_IN_URL: flag(false),
  CALLBACK_DELIVERY_ATTEMPTS: integer(3, 1, 10),
  CALLBACK_DELIVERY_RETRY_DELAY_MS: integer(1_000, 0, 60_000),
  // cursor-runner waits 30 s for the callback's answer and never sends it again: the wait stays under that.
  CALLBACK_REDIS_WAIT_MS: integer(20_000, 0, 25_000),
  CALLBACK_WAIT_MAX_BYTES: integer(256 * 1024 * 1024, 1024 * 1024, 4 * 1024 * 1024 * 1024),

  REDIS_URL: redisUrl,
  REDIS_SENTINELS: hostPortList,
  REDIS_SENTINEL_NAME: z.preprocess(
    blankToUndefined,
    z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 letters, digits, dots, dashes or underscores')
      .optional(),
  ),
  REDIS_CLUSTER_NODES: hostPortList,
  REDIS_PASSWORD: optionalText(),
  REDIS_SENTINEL_PASSWORD: optionalText(),
  REDIS_TLS: flag(false),
  REDIS_COMMAND_TIMEOUT_MS: integer(1_000, 10, 60_000),
  DATABASE_URL: sqliteUrl,
  SHARED_DB_PATH: optionalText(),

  ELEVENLABS_API_KEY: optionalText(),
  ELEVENLABS_API_BASE_URL: httpUrl('https://api.elevenlabs.io'),
  ELEVENLABS_STT_MODEL_ID: text('scribe_v1'),
  ELEVENLABS_TTS_MODEL_ID: text('eleven_turbo_v2_5'),
  ELEVENLABS_VOICE_ID: text('vfaqCOvlrKi4Zp7C2IAm'),
  ELEVENLABS_TIMEOUT_MS: integer(60_000, 100, 600_000),

  DEFAULT_NOTES_REPOSITORY: optionalText(),

  CACHE_KEY_PREFIX: z.preprocess(
    blankToUndefined,
    z
      .string()
      .trim()
      .regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'must be 1-32 lowercase letters, digits or dashes')
      .default('jarek-va'),
  ),
  CACHE_SCHEMA_VERSION: z.preprocess(
    blankToUndefined,
    z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9._-]{1,16}$/, 'must be 1-16 letters, digits, dots, dashes or underscores')
      .default('1'),
  ),
  CACHE_L1_MAX_ENTRIES: integer(10_000, 1, 10_000_000),
  CACHE_DEFAULT_TTL_MS: integer(300_000, 1, 86_400_000),
  CACHE_L2_TIMEOUT_MS: integer(50, 1, 10_000),
  CACHE_BREAKER_FAILURES: integer(5, 1, 1_000),
  CACHE_BREAKER_COOLDOWN_MS: integer(5_000, 100, 600_000),
  CACHE_PRUNE_INTERVAL_MS: integer(300_000, 1_000, 86_400_000),
  CACHE_INVALIDATION_CHANNEL: z.preprocess(
    blankToUndefined,
    z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9:._-]{1,64}$/, 'must be 1-64 letters, digits, colons, dots, dashes or underscores')
      .default('cache:invalidation'),
  ),
  CACHE_INVALIDATION_HEARTBEAT_MS: integer(250, 20, 60_000),
  QUEUE_PREFIX: z.preprocess(
    blankToUndefined,
    z
      .string()
      .trim()
      .regex(
        /^[A-Za-z0-9{][A-Za-z0-9:._{}-]{0,63}$/,
        'must be 1-64 letters, digits, colons, dots, dashes, underscores or braces',
      )
      .optional(),
  ),
  QUEUE_CONCURRENCY: integer(5, 1, 100),
  QUEUE_RETRY_DELAY_MS: integer(1_000, 1, 600_000),
  QUEUE_LOCK_DURATION_MS: integer(30_000, 1_000, 600_000),
  QUEUE_STALLED_INTERVAL_MS: integer(5_000, 500, 600_000),
  QUEUE_MAX_STALLED_COUNT: integer(2, 0, 100),

  CORS_ENABLED: flag(false),
  /** Serves `GET /openapi.json` and `GET /docs`; unset means on outside production, off in it. */
  DOCS_ENABLED: optionalFlag(),
  CORS_ORIGIN: text('*'),
  HEALTH_CHECK_TIMEOUT_MS: integer(500, 1, 60_000),
});

export type Environment = z.infer<typeof environmentSchema>;
