import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigValidationError, loadConfig } from './app-config';

const load = (env: Record<string, string>) => loadConfig(env, '/srv/app');

function errorOf(env: Record<string, string>): string {
  try {
    load(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigValidationError);
    return (error as Error).message;
  }
  throw new Error('expected the configuration to be refused');
}

describe('loadConfig', () => {
  it('runs on embedded defaults: no Redis, a SQLite file under ./data, port 3000', () => {
    const config = load({});
    expect(config.env).toBe('development');
    expect(config.http.port).toBe(3000);
    expect(config.http.host).toBe('0.0.0.0');
    expect(config.http.bodyLimitBytes).toBe(1_048_576);
    // 10 MiB of agent output, each byte escaped to six in JSON at worst (`\u0001`), with room for the rest.
    expect(config.http.callbackBodyLimitBytes).toBe(64 * 1024 * 1024);
    expect(config.redis).toBeUndefined();
    expect(config.database.filePath).toBe(path.resolve('/srv/app', 'data/shared.sqlite3'));
    expect(config.database.url).toBe(`file:${config.database.filePath}`);
    expect(config.telegram.apiBaseUrl).toBe('https://api.telegram.org');
    expect(config.telegram.timeoutMs).toBe(30_000);
    expect(config.elevenLabs.apiBaseUrl).toBe('https://api.elevenlabs.io');
    expect(config.elevenLabs.timeoutMs).toBe(60_000);
    expect(config.cursorRunner).toEqual({
      url: 'http://localhost:3001',
      timeoutSeconds: 300,
      callbackBaseUrl: 'http://localhost:3000',
      callbackSecretInUrl: false,
    });
    expect(config.app).toEqual({ name: 'Virtual Assistant API', version: '1.0.0' });
    expect(config.health).toEqual({ checkTimeoutMs: 500 });
    expect(config.callbacks).toEqual({ deliveryAttempts: 3, retryDelayMs: 1000, redisWaitMs: 20000, waitMaxBytes: 268435456 });
    expect(config.secrets).toEqual({ webhook: 'changeme', telegramWebhook: 'changeme' });
    expect(config.docs).toEqual({ enabled: true });
  });

  it('turns the API docs off with DOCS_ENABLED=false outside production', () => {
    expect(load({ NODE_ENV: 'test', DOCS_ENABLED: 'false' }).docs.enabled).toBe(false);
    expect(load({ NODE_ENV: 'test', DOCS_ENABLED: '' }).docs.enabled).toBe(true);
  });

  it('reads every documented variable', () => {
    const config = load({
      NODE_ENV: 'test',
      PORT: '8080',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'debug',
      APP_NAME: 'VA',
      APP_VERSION: '2.0.0',
      WEBHOOK_SECRET: 'w',
      TELEGRAM_BOT_TOKEN: '123:abc',
      TELEGRAM_WEBHOOK_SECRET: 't',
      TELEGRAM_WEBHOOK_BASE_URL: 'https://va.example.com/',
      TELEGRAM_API_BASE_URL: 'http://127.0.0.1:9999',
      CURSOR_RUNNER_URL: 'http://cursor-runner:3001',
      CURSOR_RUNNER_TIMEOUT: '30',
      CURSOR_RUNNER_CALLBACK_BASE_URL: 'http://app:3000/',
      CURSOR_RUNNER_CALLBACK_SECRET_IN_URL: 'true',
      REDIS_URL: 'redis://redis:6379/0',
      DATABASE_URL: 'file:/var/db/shared.sqlite3',
      ELEVENLABS_API_KEY: 'k',
      ELEVENLABS_API_BASE_URL: 'http://127.0.0.1:9998',
      ELEVENLABS_STT_MODEL_ID: 'stt',
      ELEVENLABS_TTS_MODEL_ID: 'tts',
      ELEVENLABS_VOICE_ID: 'voice',
      ELEVENLABS_TIMEOUT_MS: '5000',
      DEFAULT_NOTES_REPOSITORY: 'notes',
      CORS_ENABLED: 'true',
      CORS_ORIGIN: 'https://a.example, https://b.example',
      BODY_LIMIT_BYTES: '2048',
      CALLBACK_BODY_LIMIT_BYTES: '4096',
      SHUTDOWN_TIMEOUT_MS: '500',
      HTTP_REQUEST_TIMEOUT_MS: '15000',
      HEALTH_CHECK_TIMEOUT_MS: '250',
      TELEGRAM_TIMEOUT_MS: '5000',
      CALLBACK_DELIVERY_ATTEMPTS: '5',
      CALLBACK_DELIVERY_RETRY_DELAY_MS: '0',
      CALLBACK_REDIS_WAIT_MS: '5000',
      CALLBACK_WAIT_MAX_BYTES: '1048576',
    });
    expect(config.http).toEqual({
      port: 8080,
      host: '127.0.0.1',
      bodyLimitBytes: 2048,
      callbackBodyLimitBytes: 4096,
      shutdownTimeoutMs: 500,
      requestTimeoutMs: 15_000,
      corsEnabled: true,
      corsOrigins: ['https://a.example', 'https://b.example'],
    });
    expect(config.logLevel).toBe('debug');
    expect(config.telegram).toEqual({
      botToken: '123:abc',
      webhookBaseUrl: 'https://va.example.com',
      apiBaseUrl: 'http://127.0.0.1:9999',
      timeoutMs: 5000,
    });
    expect(config.cursorRunner).toEqual({
      url: 'http://cursor-runner:3001',
      timeoutSeconds: 30,
      callbackBaseUrl: 'http://app:3000',
      callbackSecretInUrl: true,
    });
    expect(config.redis).toEqual({ kind: 'standalone', url: 'redis://redis:6379/0' });
    expect(config.database.filePath).toBe('/var/db/shared.sqlite3');
    expect(config.elevenLabs).toEqual({
      apiKey: 'k',
      apiBaseUrl: 'http://127.0.0.1:9998',
      sttModelId: 'stt',
      ttsModelId: 'tts',
      voiceId: 'voice',
      timeoutMs: 5000,
    });
    expect(config.defaultNotesRepository).toBe('notes');
    expect(config.health).toEqual({ checkTimeoutMs: 250 });
    expect(config.callbacks).toEqual({ deliveryAttempts: 5, retryDelayMs: 0, redisWaitMs: 5000, waitMaxBytes: 1048576 });
  });

  it('sends cursor-runner callbacks to TELEGRAM_WEBHOOK_BASE_URL unless CURSOR_RUNNER_CALLBACK_BASE_URL is set', () => {
    expect(load({ TELEGRAM_WEBHOOK_BASE_URL: 'https://va.example.com' }).cursorRunner.callbackBaseUrl).toBe(
      'https://va.example.com',
    );
  });

  it('derives the queue prefix from CACHE_KEY_PREFIX unless QUEUE_PREFIX is set, and bounds the queue settings', () => {
    expect(load({}).queue).toEqual({
      prefix: 'bull:jarek-va',
      concurrency: 5,
      retryDelayMs: 1_000,
      lockDurationMs: 30_000,
      stalledIntervalMs: 5_000,
      maxStalledCount: 2,
    });
    expect(load({ CACHE_KEY_PREFIX: 'staging' }).queue.prefix).toBe('bull:staging');
    expect(
      load({
        QUEUE_PREFIX: 'jobs',
        QUEUE_CONCURRENCY: '10',
        QUEUE_RETRY_DELAY_MS: '50',
        QUEUE_LOCK_DURATION_MS: '2000',
        QUEUE_STALLED_INTERVAL_MS: '500',
        QUEUE_MAX_STALLED_COUNT: '0',
      }).queue,
    ).toEqual({ prefix: 'jobs', concurrency: 10, retryDelayMs: 50, lockDurationMs: 2_000, stalledIntervalMs: 500, maxStalledCount: 0 });
    expect(() => load({ QUEUE_LOCK_DURATION_MS: '999' })).toThrow('QUEUE_LOCK_DURATION_MS must be an integer between 1000 and 600000');
    expect(() => load({ QUEUE_CONCURRENCY: '0' })).toThrow('QUEUE_CONCURRENCY must be an integer between 1 and 100 (got "0")');
    expect(() => load({ QUEUE_PREFIX: 'a b' })).toThrow('QUEUE_PREFIX must be 1-64 letters, digits, colons, dots, dashes, underscores or braces');
  });

  it('takes the database from SHARED_DB_PATH when DATABASE_URL is absent', () => {
    expect(load({ SHARED_DB_PATH: '/app/shared_db/shared.sqlite3' }).database.filePath).toBe(
      '/app/shared_db/shared.sqlite3',
    );
  });

  it('treats blank values as unset', () => {
    const config = load({ PORT: ' ', REDIS_URL: '', TELEGRAM_BOT_TOKEN: '  ' });
    expect(config.http.port).toBe(3000);
    expect(config.redis).toBeUndefined();
    expect(config.telegram.botToken).toBeUndefined();
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT must be an integer between 0 and 65535 (got "abc")'],
    [{ PORT: '70000' }, 'PORT must be an integer between 0 and 65535 (got "70000")'],
    [{ NODE_ENV: 'staging' }, 'NODE_ENV must be one of development, test, production (got "staging")'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "loud")'],
    [{ CURSOR_RUNNER_URL: 'cursor-runner:3001' }, 'CURSOR_RUNNER_URL must be an http(s) URL (got "cursor-runner:3001")'],
    [
      { CURSOR_RUNNER_CALLBACK_BASE_URL: 'app:3000' },
      'CURSOR_RUNNER_CALLBACK_BASE_URL must be an http(s) URL (got "app:3000")',
    ],
    [{ CORS_ENABLED: 'yes' }, 'CORS_ENABLED must be one of true, false, 1, 0 (got "yes")'],
    [{ DOCS_ENABLED: 'on' }, 'DOCS_ENABLED must be one of true, false, 1, 0 (got "on")'],
    [{ DATABASE_URL: 'postgres://x' }, 'DATABASE_URL must be a SQLite URL of the form file:<path> (got "postgres://x")'],
    [{ HEALTH_CHECK_TIMEOUT_MS: '0' }, 'HEALTH_CHECK_TIMEOUT_MS must be an integer between 1 and 60000 (got "0")'],
    [{ CALLBACK_DELIVERY_ATTEMPTS: '0' }, 'CALLBACK_DELIVERY_ATTEMPTS must be an integer between 1 and 10 (got "0")'],
    [{ CALLBACK_REDIS_WAIT_MS: '30000' }, 'CALLBACK_REDIS_WAIT_MS must be an integer between 0 and 25000 (got "30000")'],
    [{ CALLBACK_WAIT_MAX_BYTES: '1000' }, 'CALLBACK_WAIT_MAX_BYTES must be an integer between 1048576 and 4294967296 (got "1000")'],
    [{ PORT: '0x0D99' }, 'PORT must be an integer between 0 and 65535 (got "0x0D99")'],
    [{ SHUTDOWN_TIMEOUT_MS: '1e3' }, 'SHUTDOWN_TIMEOUT_MS must be an integer between 0 and 600000 (got "1e3")'],
    [{ QUEUE_CONCURRENCY: '5.0' }, 'QUEUE_CONCURRENCY must be an integer between 1 and 100 (got "5.0")'],
    [{ REDIS_URL: 'redis://127.0.0.1:6379/abc' }, 'REDIS_URL must name a database by its number (redis://host:6379/0), if at all'],
    [{ REDIS_URL: 'redis:///tmp/redis.sock' }, 'REDIS_URL must be a redis:// or rediss:// URL with a host'],
    [{ REDIS_URL: 'redis://127.0.0.1:6379?db=3' }, 'REDIS_URL must not have a query (its options are not read): name the database in the path'],
    [{ REDIS_URL: 'redis://:s3cr%zzt@127.0.0.1:6379' }, 'REDIS_URL has a user or password with a malformed percent escape'],
    [{ TELEGRAM_WEBHOOK_SECRET: 'bad secret!' }, 'TELEGRAM_WEBHOOK_SECRET must be 1-256 letters, digits, underscores or dashes (what Telegram takes as a secret_token)'],
    [{ TELEGRAM_BOT_TOKEN: '123:abc def' }, 'TELEGRAM_BOT_TOKEN must be a bot token as BotFather gives it: <bot id>:<letters, digits, _ or ->'],
    [{ TELEGRAM_WEBHOOK_BASE_URL: 'https://public.example/hook?x=1' }, 'TELEGRAM_WEBHOOK_BASE_URL must not have a query or fragment: paths are appended to it (got "https://public.example/hook?<query>")'],
    [{ CURSOR_RUNNER_CALLBACK_BASE_URL: 'http://app:3000/cb#frag' }, 'CURSOR_RUNNER_CALLBACK_BASE_URL must not have a query or fragment: paths are appended to it (got "http://app:3000/cb#<fragment>")'],
    [{ CURSOR_RUNNER_URL: 'http://user:hunter2@cr:3001' }, 'CURSOR_RUNNER_URL must not carry credentials (got "http://<credentials>@cr:3001")'],
    [{ ELEVENLABS_API_BASE_URL: 'http://user:hunter2@el host' }, 'ELEVENLABS_API_BASE_URL must be an http(s) URL (got "http://<credentials>@el host")'],
    [{ CURSOR_RUNNER_URL: 'http://cursor-runner:0' }, 'CURSOR_RUNNER_URL must not name port 0 (got "http://cursor-runner:0")'],
    [{ DATABASE_URL: 'file:./data/x.db?connection_limit=1' }, 'DATABASE_URL must not have a query (file:<path>; no option is read from it) (got "file:./data/x.db?<query>")'],
    [{ REDIS_URL: 'redis://127.0.0.1:0' }, 'REDIS_URL must not name port 0 (the client would connect to 6379)'],
    [{ CORS_ENABLED: 'true', CORS_ORIGIN: ',, ,' }, 'CORS_ORIGIN must name at least one origin (or *) when CORS_ENABLED=true: a list of blanks allows none'],
    [{ CALLBACK_BODY_LIMIT_BYTES: '24MiB' }, 'CALLBACK_BODY_LIMIT_BYTES must be an integer between 1024 and 268435456 (got "24MiB")'],
    [{ ELEVENLABS_TIMEOUT_MS: '60s' }, 'ELEVENLABS_TIMEOUT_MS must be an integer between 100 and 600000 (got "60s")'],
  ])('refuses %p with one line naming the variable', (env, expected) => {
    const message = errorOf(env);
    expect(message).toBe(`Invalid configuration: ${expected}`);
    expect(message).not.toContain('\n');
  });

  it.each([
    ['CURSOR_RUNNER_URL', 'http://user:Pw0rd@SECRET@cursor-runner:3001', 'http://<credentials>@cursor-runner:3001'],
    ['ELEVENLABS_API_BASE_URL', 'https://user:Pw0rd/SECRET@api.elevenlabs.io', 'https://<credentials>@api.elevenlabs.io'],
    ['TELEGRAM_API_BASE_URL', 'https:user:Pw0rdSECRET@api.telegram.org', 'https:<credentials>@api.telegram.org'],
    ['TELEGRAM_WEBHOOK_BASE_URL', String.raw`https:\\user:Pw0rdSECRET@bot.example.com`, String.raw`https:\\<credentials>@bot.example.com`],
    ['CURSOR_RUNNER_CALLBACK_BASE_URL', 'http://app:3000/?token=Pw0rdSECRET', 'http://app:3000/?<query>'],
    ['DATABASE_URL', 'postgres://user:Pw0rd@SECRET@db/x', 'postgres://<credentials>@db/x'],
    ['DATABASE_URL', 'user:Pw0rdSECRET@db', 'user:<credentials>@db'],
    ['DATABASE_URL', 'postgres://app:s3cr3t#2024SECRET@db/x', 'postgres://<credentials>@db/x'],
    ['CURSOR_RUNNER_URL', 'http://user:Pw0rd?SECRET@cursor-runner:3001', 'http://<credentials>@cursor-runner:3001'],
    ['CURSOR_RUNNER_URL', 'http://user:Pw0rdSECRET', 'http://<credentials>'],
    ['TELEGRAM_API_BASE_URL', 'https://[::1]:99999/x?token=SECRET', 'https://[::1]:99999/x?<query>'],
  ])('refuses %s without echoing the credentials of %p', (variable, value, shown) => {
    const message = errorOf({ [variable]: value });
    expect(message.startsWith(`Invalid configuration: ${variable} `)).toBe(true);
    expect(message.endsWith(`(got ${JSON.stringify(shown)})`)).toBe(true);
    expect(message).not.toMatch(/Pw0rd|SECRET/);
  });

  it('takes a SQLite path holding a #, which the adapter opens as given', () => {
    expect(loadConfig({ NODE_ENV: 'test', DATABASE_URL: 'file:/data/a#b/x.db' }).database.filePath).toBe('/data/a#b/x.db');
  });

  it('names a bad secret-bearing variable without echoing its value', () => {
    const message = errorOf({ REDIS_URL: 'http://user:hunter2@redis' });
    expect(message).toBe('Invalid configuration: REDIS_URL must be a redis:// or rediss:// URL with a host');
    expect(message).not.toContain('hunter2');
  });

  describe('APP_ROLE', () => {
    it('defaults to all, the embedded quick start, named after the host', () => {
      const config = load({});
      expect(config.role).toBe('all');
      expect(config.instanceId).toBe(os.hostname());
    });

    it.each(['api', 'worker'])('runs %s on a Redis, under INSTANCE_ID when set', (role) => {
      const config = load({ APP_ROLE: role, REDIS_URL: 'redis://redis:6379', INSTANCE_ID: 'pod-a.1' });
      expect(config.role).toBe(role);
      expect(config.instanceId).toBe('pod-a.1');
    });

    it.each(['api', 'worker'])('refuses %s in the embedded mode, in one line naming APP_ROLE', (role) => {
      const message = errorOf({ APP_ROLE: role });
      expect(message).toBe(
        `Invalid configuration: APP_ROLE=${role} needs REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES: API and workers share their job queue in Redis, so the embedded mode runs APP_ROLE=all only`,
      );
    });

    it('refuses an unknown role and a malformed INSTANCE_ID', () => {
      expect(errorOf({ APP_ROLE: 'both' })).toBe('Invalid configuration: APP_ROLE must be one of all, api, worker (got "both")');
      expect(errorOf({ INSTANCE_ID: 'a b' })).toContain('INSTANCE_ID must be 1-63 letters');
    });
  });

  describe('in production', () => {
    const production = { NODE_ENV: 'production', WEBHOOK_SECRET: 's1', TELEGRAM_WEBHOOK_SECRET: 's2' };

    it('accepts a Sentinel or a Cluster as the Redis of production', () => {
      expect(load({ ...production, REDIS_SENTINELS: 's1:26379', REDIS_SENTINEL_NAME: 'main' }).redis?.kind).toBe('sentinel');
      expect(load({ ...production, REDIS_CLUSTER_NODES: 'c1:6379' }).redis?.kind).toBe('cluster');
    });

    it('requires a Redis', () => {
      expect(errorOf(production)).toBe('Invalid configuration: REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES is required when NODE_ENV=production');
    });

    it.each(['WEBHOOK_SECRET', 'TELEGRAM_WEBHOOK_SECRET'])('refuses the changeme default for %s', (variable) => {
      const message = errorOf({ ...production, REDIS_URL: 'redis://redis:6379', [variable]: '' });
      expect(message).toContain(`${variable} must be set to a real secret when NODE_ENV=production`);
    });

    it('accepts real secrets and a Redis URL', () => {
      const config = load({ ...production, REDIS_URL: 'redis://redis:6379' });
      expect(config.isProduction).toBe(true);
    });

    it('serves no API docs unless DOCS_ENABLED turns them on', () => {
      expect(load({ ...production, REDIS_URL: 'redis://redis:6379' }).docs.enabled).toBe(false);
      expect(load({ ...production, REDIS_URL: 'redis://redis:6379', DOCS_ENABLED: 'true' }).docs.enabled).toBe(true);
    });
  });

  describe('Redis topology', () => {
    it('reads a Sentinel-managed primary from REDIS_SENTINELS and REDIS_SENTINEL_NAME', () => {
      const config = load({
        REDIS_SENTINELS: 'sentinel-a:26379, sentinel-b:26380,10.0.0.3:26381,[fd00::3]:26382',
        REDIS_SENTINEL_NAME: 'jarek-va',
        REDIS_PASSWORD: 'p1',
        REDIS_SENTINEL_PASSWORD: 'p2',
        // Flags are trimmed like every other value.
        REDIS_TLS: ' true ',
      });
      expect(config.redis).toEqual({
        kind: 'sentinel',
        sentinels: [
          { host: 'sentinel-a', port: 26379 },
          { host: 'sentinel-b', port: 26380 },
          { host: '10.0.0.3', port: 26381 },
          { host: 'fd00::3', port: 26382 },
        ],
        name: 'jarek-va',
        password: 'p1',
        sentinelPassword: 'p2',
        tls: true,
      });
      expect(config.queue.prefix).toBe('bull:jarek-va');
    });

    it('reads a Cluster from REDIS_CLUSTER_NODES and gives the queues a hash-tagged prefix', () => {
      const config = load({ REDIS_CLUSTER_NODES: 'c1:7000,c2:7001', CACHE_KEY_PREFIX: 'staging' });
      expect(config.redis).toEqual({
        kind: 'cluster',
        nodes: [
          { host: 'c1', port: 7000 },
          { host: 'c2', port: 7001 },
        ],
        password: undefined,
        tls: false,
      });
      expect(config.queue.prefix).toBe('{bull:staging}');
      expect(load({ REDIS_CLUSTER_NODES: 'c1:7000', QUEUE_PREFIX: 'jobs:{app}' }).queue.prefix).toBe('jobs:{app}');
    });

    it.each([
      [{ REDIS_URL: 'redis://r:6379', REDIS_CLUSTER_NODES: 'c1:7000' }, 'set exactly one of REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES (got REDIS_URL and REDIS_CLUSTER_NODES)'],
      [
        { REDIS_SENTINELS: 's:26379', REDIS_SENTINEL_NAME: 'm', REDIS_CLUSTER_NODES: 'c1:7000' },
        'set exactly one of REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES (got REDIS_SENTINELS and REDIS_CLUSTER_NODES)',
      ],
      [{ REDIS_SENTINELS: 's:26379' }, 'REDIS_SENTINELS needs REDIS_SENTINEL_NAME'],
      [{ REDIS_SENTINEL_NAME: 'm' }, 'REDIS_SENTINEL_NAME is set without REDIS_SENTINELS'],
      [{ REDIS_CLUSTER_NODES: 'c1:7000', REDIS_SENTINEL_PASSWORD: 'x' }, 'REDIS_SENTINEL_PASSWORD is set without REDIS_SENTINELS'],
      [{ REDIS_URL: 'redis://r:6379', REDIS_PASSWORD: 'x' }, 'REDIS_PASSWORD and REDIS_TLS apply to REDIS_SENTINELS and REDIS_CLUSTER_NODES'],
      [{ REDIS_CLUSTER_NODES: 'c1:7000', QUEUE_PREFIX: 'jobs' }, 'QUEUE_PREFIX must contain a hash tag such as {jobs} with REDIS_CLUSTER_NODES'],
      [{ CALLBACK_REDIS_WAIT_MS: '25000', REDIS_COMMAND_TIMEOUT_MS: '11000' }, 'CALLBACK_REDIS_WAIT_MS plus twice REDIS_COMMAND_TIMEOUT_MS must stay within 28000 ms (got 25000 + 2 × 11000)'],
      [{ REDIS_PASSWORD: 'x' }, 'REDIS_PASSWORD and REDIS_TLS are set without REDIS_SENTINELS or REDIS_CLUSTER_NODES, which they apply to'],
      [{ REDIS_URL: 'redis://r:6379', QUEUE_PREFIX: 'jarek-va:1:{settings}' }, 'QUEUE_PREFIX must not start with "jarek-va:", the cache\'s keys (CACHE_KEY_PREFIX)'],
      [{ REDIS_CLUSTER_NODES: 'c1' }, 'REDIS_CLUSTER_NODES must be a comma-separated list of host:port (a port 1-65535), an IPv6 host in brackets (got "c1")'],
      [{ REDIS_SENTINELS: 's:99999', REDIS_SENTINEL_NAME: 'm' }, 'REDIS_SENTINELS must be a comma-separated list of host:port (a port 1-65535), an IPv6 host in brackets (got "s:99999")'],
      [{ REDIS_CLUSTER_NODES: 'c1:7000,c2:0' }, 'REDIS_CLUSTER_NODES must be a comma-separated list of host:port (a port 1-65535), an IPv6 host in brackets (got "c1:7000,c2:0")'],
    ])('refuses %j naming the variables', (env, expected) => {
      expect(errorOf(env)).toContain(expected);
    });

    it('never echoes the Redis passwords', () => {
      expect(errorOf({ REDIS_SENTINELS: 's:26379', REDIS_SENTINEL_NAME: 'm', REDIS_TLS: 'maybe', REDIS_PASSWORD: 'hunter2' })).not.toContain('hunter2');
    });
  });
});
