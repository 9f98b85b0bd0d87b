import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import Redis, { type RedisOptions } from 'ioredis';
import { AppProcess } from './support/faults/app-process';
import { FakeTelegram } from './support/fakes/telegram-server';
import { pollUntil } from './support/poll';
import { clusterBusArgs, freePort } from './support/redis-server';
import { loadTelegramUpdate } from './support/telegram-fixtures';

const run = promisify(execFile);

const TOKEN = '888888:redis-tls-token';
const ADMIN_SECRET = 'tls-admin-secret';
const TELEGRAM_SECRET = 'tls-telegram-secret';
/** Starting TLS servers, sentinels and an app process on a loaded machine. */
const START_MS = 120_000;
/** The app's REDIS_COMMAND_TIMEOUT_MS in these tests. */
const COMMAND_BUDGET_MS = 2_000;

/**
 * A certificate authority of the test's own and a server certificate it signed for 127.0.0.1: what a
 * managed Redis with a private CA presents. The app is told to trust the CA the way an operator
 * would, with Node's NODE_EXTRA_CA_CERTS, and without it must refuse the server.
 */
interface Certificates {
  dir: string;
  ca: string;
  cert: string;
  key: string;
}

async function makeCertificates(): Promise<Certificates> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jarek-va-tls-'));
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  await openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=jarek-va test CA');
  await openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  fs.writeFileSync(file('san.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  await openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '1', '-extfile', 'san.cnf');
  return { dir, ca: file('ca.crt'), cert: file('server.crt'), key: file('server.key') };
}

/** TLS only (no plaintext port), clients not asked for a certificate, replication over TLS too. */
const tlsArgs = (certificates: Certificates, port: number): string[] => [
  '--port', '0',
  '--tls-port', String(port),
  '--tls-cert-file', certificates.cert,
  '--tls-key-file', certificates.key,
  '--tls-ca-cert-file', certificates.ca,
  '--tls-auth-clients', 'no',
  '--tls-replication', 'yes',
];

/**
 * Runs `work` with a short-lived client of the test's own, which trusts the test CA explicitly;
 * `undefined` when the server cannot be reached or refuses, so a poll tries again.
 */
async function withTestClient<T>(certificates: Certificates, port: number, work: (client: Redis) => Promise<T>, options: RedisOptions = {}): Promise<T | undefined> {
  const client = new Redis({
    host: '127.0.0.1',
    port,
    tls: { ca: fs.readFileSync(certificates.ca) },
    lazyConnect: true,
    connectTimeout: 1_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    ...options,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await work(client);
  } catch {
    return undefined;
  } finally {
    client.disconnect();
  }
}

interface TlsServer {
  port: number;
  process: ChildProcess;
}

async function startTlsServer(certificates: Certificates, args: string[], port: number): Promise<TlsServer> {
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-2_000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let failure: string | undefined;
  child.once('error', (error) => (failure = `cannot start redis-server (${error.message}): install it (apt-get install redis-server)`));
  child.once('exit', (code, signal) => (failure ??= `redis-server exited (${signal ?? code}); it must be built with TLS:\n${output}`));
  const { value } = await pollUntil(
    async () => failure ?? (await withTestClient(certificates, port, (client) => client.ping())),
    (answer) => answer !== undefined,
    10_000,
    100,
  );
  if (value !== 'PONG') {
    child.kill('SIGKILL');
    throw new Error(value ?? `redis-server with TLS on port ${port} did not answer:\n${output}`);
  }
  return { port, process: child };
}

async function stopTlsServers(servers: TlsServer[]): Promise<void> {
  await Promise.all(
    servers.splice(0).map(
      ({ process: child }) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
}

const baseArgs = (dir: string): string[] => ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', dir];

const readinessStatus = async (app: AppProcess): Promise<number> => (await fetch(`${app.baseUrl}/health/ready`)).status;

/**
 * The settings namespace's cache entries on the servers at `ports` (`<prefix>:<schemaVersion>:{settings}:<key>`,
 * docs/redis.md): not its generation or tag keys (`{settings}#…`), which a write's invalidation
 * touches, nor the queue's keys, which carry the prefix too and exist from boot.
 */
async function settingsCacheEntries(certificates: Certificates, ports: number[], prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for (const port of ports) keys.push(...((await withTestClient(certificates, port, (client) => client.keys(`${prefix}:*{settings}:*`))) ?? []));
  return keys;
}

describe('Redis over TLS with a private certificate authority', () => {
  let certificates: Certificates;
  let telegram: FakeTelegram;
  const apps: AppProcess[] = [];
  let nextChat = 700_000_000 + Math.floor(Math.random() * 1_000_000);
  let nextUpdateId = Math.floor(Date.now() / 1000) * 10 + 7;

  beforeAll(async () => {
    certificates = await makeCertificates();
    telegram = await FakeTelegram.start(TOKEN);
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.kill('SIGKILL')));
  });
  afterAll(async () => {
    await telegram?.stop();
    if (certificates) fs.rmSync(certificates.dir, { recursive: true, force: true });
  });

  const startApp = async (redisEnv: Record<string, string>, trustTestCa: boolean) => {
    const dataDir = fs.mkdtempSync(path.join(certificates.dir, 'app-'));
    const prefix = `tls-${randomUUID().slice(0, 8)}`;
    const app = await AppProcess.start({
      env: {
        ...redisEnv,
        ...(trustTestCa ? { NODE_EXTRA_CA_CERTS: certificates.ca } : {}),
        CACHE_KEY_PREFIX: prefix,
        DATABASE_URL: `file:${path.join(dataDir, 'tls.sqlite3')}`,
        WEBHOOK_SECRET: ADMIN_SECRET,
        TELEGRAM_WEBHOOK_SECRET: TELEGRAM_SECRET,
        TELEGRAM_BOT_TOKEN: TOKEN,
        TELEGRAM_API_BASE_URL: telegram.url,
        REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_BUDGET_MS),
      },
      readyWithinMs: START_MS,
    });
    apps.push(app);
    return { app, prefix };
  };

  /** A `/start` update from a chat of its own, and how to post it to the app's webhook (again, for a redelivery). */
  function startCommand(app: AppProcess): { chat: number; post: () => Promise<Response> } {
    const update = loadTelegramUpdate('start-command') as Record<string, unknown> & { message: { chat: { id: number } } };
    const chat = ++nextChat;
    update.update_id = ++nextUpdateId;
    update.message.chat.id = chat;
    const post = () =>
      fetch(`${app.baseUrl}/telegram/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': TELEGRAM_SECRET },
        body: JSON.stringify(update),
      });
    return { chat, post };
  }

  /** Readiness, a cached read written through to Redis, and a webhook update queued and answered: everything Redis carries. */
  async function servesOverTls(app: AppProcess, prefix: string, dataPorts: number[]): Promise<void> {
    const ready = await pollUntil(() => readinessStatus(app), (status) => status === 200, 30_000, 200);
    expect(ready.value).toBe(200);

    const setting = `tls_${prefix.replace(/-/g, '_')}`;
    const put = await fetch(`${app.baseUrl}/settings/${setting}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'x-admin-secret': ADMIN_SECRET },
      body: JSON.stringify({ enabled: true }),
    });
    expect(put.status).toBe(200);
    expect(await settingsCacheEntries(certificates, dataPorts, prefix)).toEqual([]);
    const read = async () => (await fetch(`${app.baseUrl}/settings/${setting}`, { headers: { 'x-admin-secret': ADMIN_SECRET } })).json();
    expect(await read()).toEqual({ name: setting, enabled: true });
    // The read's entry went to L2, through TLS, as well as to L1.
    const written = await pollUntil(() => settingsCacheEntries(certificates, dataPorts, prefix), (keys) => keys.length > 0, 5_000, 100);
    expect(written.value.length).toBeGreaterThan(0);

    const { chat, post } = startCommand(app);
    const queued = await post();
    expect(queued.status).toBe(200);
    const answered = await pollUntil(async () => telegram.messages(chat).length, (count) => count >= 1, 15_000, 50);
    expect(answered.value).toBe(1);
  }

  describe('one server (rediss://)', () => {
    const servers: TlsServer[] = [];
    let server: TlsServer;

    beforeAll(async () => {
      const port = await freePort();
      server = await startTlsServer(certificates, [...tlsArgs(certificates, port), ...baseArgs(certificates.dir)], port);
      servers.push(server);
    }, START_MS);
    afterAll(() => stopTlsServers(servers));

    it('serves cache, queue and readiness through TLS once the CA is trusted', async () => {
      const { app, prefix } = await startApp({ NODE_ENV: 'production', REDIS_URL: `rediss://127.0.0.1:${server.port}` }, true);
      await servesOverTls(app, prefix, [server.port]);
    }, START_MS);

    it('refuses a server whose certificate it cannot verify: not ready, and says why', async () => {
      const { app } = await startApp({ NODE_ENV: 'production', REDIS_URL: `rediss://127.0.0.1:${server.port}` }, false);
      // This server sends the CA with its certificate; one that sends only its own certificate is
      // refused with "unable to verify the first certificate" instead.
      const refused = await pollUntil(async () => JSON.stringify(app.lines).includes('self-signed certificate in certificate chain'), Boolean, 20_000, 100);
      expect(refused.value).toBe(true);
      expect(await readinessStatus(app)).toBe(503);
    }, START_MS);
  });

  describe('one server (rediss://), killed and started again under the app', () => {
    const servers: TlsServer[] = [];
    let port: number;
    let args: string[];

    beforeAll(async () => {
      port = await freePort();
      args = [...tlsArgs(certificates, port), ...baseArgs(fs.mkdtempSync(path.join(certificates.dir, 'restart-')))];
      servers.push(await startTlsServer(certificates, args, port));
    }, START_MS);
    afterAll(() => stopTlsServers(servers));

    /**
     * Bounds: a killed server refuses connections at once, so readiness fails on its next check; the
     * app retries every 100 ms, backing off to 2 s (libs/redis), so it is back within a few seconds of
     * the server answering again. Both bounds leave room for a loaded machine.
     */
    it('reconnects through a new TLS handshake: not ready while the server is gone, then cache, queue and readiness again', async () => {
      const { app, prefix } = await startApp({ NODE_ENV: 'production', REDIS_URL: `rediss://127.0.0.1:${port}` }, true);
      await servesOverTls(app, prefix, [port]);

      const killedAt = Date.now();
      await stopTlsServers(servers);
      const down = await pollUntil(() => readinessStatus(app), (status) => status === 503, 5_000, 100);
      expect(down.value).toBe(503);
      expect(Date.now() - killedAt).toBeLessThanOrEqual(5_000);

      servers.push(await startTlsServer(certificates, args, port));
      const restartedAt = Date.now();
      const back = await pollUntil(() => readinessStatus(app), (status) => status === 200, 10_000, 100);
      expect(back.value).toBe(200);
      expect(Date.now() - restartedAt).toBeLessThanOrEqual(10_000);
      // Every connection (cache, invalidation subscriber, queue) made a new handshake: all three carry the next round.
      await servesOverTls(app, prefix, [port]);
      expect(JSON.stringify(app.lines)).not.toMatch(/certificate|ERR_SSL|ERR_TLS/i);
    }, START_MS);

    /**
     * A frozen server (SIGSTOP: the TLS session open, nothing answered) holds a webhook no longer than
     * the command budget plus 1 s, as on plain TCP (test/redis-hang.e2e-spec.ts), and after SIGCONT the
     * same session carries on: the update redelivered is queued and answered.
     */
    it('answers a webhook 503 within the command budget while the server is frozen, and serves it once thawed', async () => {
      const { app } = await startApp({ NODE_ENV: 'production', REDIS_URL: `rediss://127.0.0.1:${port}` }, true);
      expect((await pollUntil(() => readinessStatus(app), (status) => status === 200, 30_000, 200)).value).toBe(200);
      const server = servers[0].process;
      const { chat, post } = startCommand(app);
      server.kill('SIGSTOP');
      try {
        const started = Date.now();
        const refused = await post();
        expect(refused.status).toBe(503);
        expect(Date.now() - started).toBeLessThanOrEqual(COMMAND_BUDGET_MS + 1_000);
      } finally {
        server.kill('SIGCONT');
      }
      const redelivered = await pollUntil(async () => (await post()).status, (status) => status === 200, 10_000, 200);
      expect(redelivered.value).toBe(200);
      const answered = await pollUntil(async () => telegram.messages(chat).length, (count) => count >= 1, 15_000, 50);
      expect(answered.value).toBe(1);
    }, START_MS);
  });

  describe('a Sentinel-managed primary (1 replica, 3 sentinels, REDIS_TLS=true)', () => {
    const servers: TlsServer[] = [];
    const name = 'jarek-va-tls';
    let primaryPort: number;
    let sentinelPorts: number[];

    beforeAll(async () => {
      const dir = fs.mkdtempSync(path.join(certificates.dir, 'sentinel-'));
      primaryPort = await freePort();
      servers.push(await startTlsServer(certificates, [...tlsArgs(certificates, primaryPort), ...baseArgs(dir)], primaryPort));
      const replicaPort = await freePort();
      servers.push(
        await startTlsServer(certificates, [...tlsArgs(certificates, replicaPort), ...baseArgs(dir), '--replicaof', '127.0.0.1', String(primaryPort)], replicaPort),
      );
      sentinelPorts = [];
      for (let index = 0; index < 3; index += 1) {
        const port = await freePort();
        const file = path.join(dir, `sentinel-${port}.conf`);
        fs.writeFileSync(
          file,
          [
            'port 0',
            `tls-port ${port}`,
            `tls-cert-file ${certificates.cert}`,
            `tls-key-file ${certificates.key}`,
            `tls-ca-cert-file ${certificates.ca}`,
            'tls-auth-clients no',
            'tls-replication yes',
            'bind 127.0.0.1',
            `dir ${dir}`,
            `sentinel monitor ${name} 127.0.0.1 ${primaryPort} 2`,
            `sentinel down-after-milliseconds ${name} 1000`,
            '',
          ].join('\n'),
        );
        servers.push(await startTlsServer(certificates, [file, '--sentinel'], port));
        sentinelPorts.push(port);
      }
      // The replica's link to the primary runs over TLS too; with it down, the queue would take its
      // writes as unreplicated and the test would not notice.
      const linked = await pollUntil(
        () => withTestClient(certificates, replicaPort, (replica) => replica.info('replication')),
        (info) => info?.includes('master_link_status:up') === true,
        30_000,
        200,
      );
      expect(linked.value).toContain('master_link_status:up');
      const known = await pollUntil(
        () => withTestClient(certificates, sentinelPorts[0], async (sentinel) => ((await sentinel.call('SENTINEL', 'REPLICAS', name)) as unknown[]).length),
        (replicas) => (replicas ?? 0) >= 1,
        30_000,
        200,
      );
      expect(known.value).toBeGreaterThanOrEqual(1);
    }, START_MS);
    afterAll(() => stopTlsServers(servers));

    it('finds the primary through TLS sentinels and serves cache, queue and readiness through it', async () => {
      const { app, prefix } = await startApp(
        {
          NODE_ENV: 'production',
          REDIS_SENTINELS: sentinelPorts.map((port) => `127.0.0.1:${port}`).join(','),
          REDIS_SENTINEL_NAME: name,
          REDIS_TLS: 'true',
        },
        true,
      );
      await servesOverTls(app, prefix, [primaryPort]);
    }, START_MS);
  });

  describe('a Redis Cluster (3 primaries, 3 replicas, cluster bus over TLS, REDIS_TLS=true)', () => {
    const servers: TlsServer[] = [];
    const ports: number[] = [];

    beforeAll(async () => {
      const dir = fs.mkdtempSync(path.join(certificates.dir, 'cluster-'));
      for (let index = 0; index < 6; index += 1) {
        const port = await freePort();
        servers.push(
          await startTlsServer(
            certificates,
            [
              ...tlsArgs(certificates, port),
              ...baseArgs(dir),
              '--cluster-enabled', 'yes',
              ...(await clusterBusArgs()),
              '--cluster-config-file', `nodes-${port}.conf`,
              '--cluster-node-timeout', '1000',
              '--tls-cluster', 'yes',
            ],
            port,
          ),
        );
        ports.push(port);
      }
      await run(
        'redis-cli',
        ['--tls', '--cacert', certificates.ca, '--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '1', '--cluster-yes'],
        { timeout: 60_000 },
      );
      const healthy = await pollUntil(
        async () => {
          const states = await Promise.all(
            ports.map((port) => withTestClient(certificates, port, async (node) => String(await node.call('CLUSTER', 'INFO')).includes('cluster_state:ok'))),
          );
          return states.every(Boolean);
        },
        Boolean,
        30_000,
        200,
      );
      expect(healthy.value).toBe(true);
    }, START_MS);
    afterAll(() => stopTlsServers(servers));

    it('follows the slot map the TLS nodes announce and serves cache, queue and readiness through it', async () => {
      const { app, prefix } = await startApp(
        { NODE_ENV: 'production', REDIS_CLUSTER_NODES: ports.map((port) => `127.0.0.1:${port}`).join(','), REDIS_TLS: 'true' },
        true,
      );
      await servesOverTls(app, prefix, ports);
    }, START_MS);
  });
});
