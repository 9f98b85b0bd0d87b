import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { FakeHttpServer } from './support/fakes/fake-http-server';
import { ResettingThenSilentServer } from './support/faults/resetting-then-silent-server';
import { pollUntil } from './support/poll';
import { openRaw, rawRequest, sendRawAll } from './support/raw-http';
import { recordKeyPrefixes } from './support/redis-key-ledger';
import { removeRedisKeys } from './support/redis-keys';
import Redis from 'ioredis';
import { DeliverResult, deliveryClaimKey } from '../apps/api/src/conversation';
import { FakeTelegram } from './support/fakes/telegram-server';
import { storeWaitingRequest } from './support/pending-requests';
import { startFaultyRedis } from './support/redis-server';
import { startTestApp, testRedisUrl } from './support/test-app';

const ROOT = path.join(__dirname, '..');
const NEST_BOOT_CONTEXTS = ['NestFactory', 'InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestApplication'];
const INFO = 30;
const REPLAY_TOKEN = '771001:replaying-app-token';
const DEBUG = 20;

interface LogLine {
  level: number;
  context?: string;
  msg: string;
}

interface Service {
  child: ChildProcess;
  databaseFile: string;
  lines: LogLine[];
  baseUrl: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** What the process wrote to stderr so far. */
  stderr(): string;
}

/** Runs `apps/api/src/main.ts` as production does (its own process, its own signal handling), once it listens. */
async function startService(env: Record<string, string>): Promise<Service> {
  const service = spawnService(env);
  const listening = () => service.lines.find((line) => line.msg.startsWith('Listening on '));
  const { value } = await pollUntil(async () => listening(), (line) => line !== undefined || service.child.exitCode !== null, 120_000, 50);
  if (!value) throw new Error(`the service did not start: ${service.stderr()}`);
  return { ...service, baseUrl: /^Listening on (http:\/\/[^ ]+)/.exec(value.msg)![1] };
}

/** Runs `apps/api/src/main.ts` without waiting for it to listen (`baseUrl` empty until then). */
function spawnService(env: Record<string, string>): Service {
  const databaseFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'jarek-va-lifecycle-')), 'shared.sqlite3');
  const { REDIS_URL: _unused, ...inherited } = process.env;
  const child = spawn(process.execPath, ['-r', '@swc-node/register', 'apps/api/src/main.ts'], {
    cwd: ROOT,
    env: {
      ...inherited,
      NODE_ENV: 'test',
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: `file:${databaseFile}`,
      ELEVENLABS_API_KEY: 'test-key',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  let buffered = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const complete = buffered.split('\n');
    buffered = complete.pop() ?? '';
    for (const line of complete.filter(Boolean)) lines.push(JSON.parse(line) as LogLine);
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, databaseFile, lines, baseUrl: '', exited, stderr: () => stderr };
}

/** Ends a service a test left running (a failed assertion) and removes its database folder. */
function discard(service: Service): void {
  service.child.kill('SIGKILL');
  fs.rmSync(path.dirname(service.databaseFile), { recursive: true, force: true });
}

function messages(service: Service, level: number, after = 0, context?: string): string[] {
  return service.lines
    .slice(after)
    .filter((line) => line.level === level && (context === undefined || line.context === context))
    .map((line) => line.msg);
}

describe('a real process under hostile clients', () => {
  it('keeps running when clients reset a CONNECT while its 405 is written', async () => {
    // Node takes its own error listener off a CONNECT's socket: a reset was an uncaught exception, exit 1.
    const service = await startService({});
    try {
      const port = Number(new URL(service.baseUrl).port);
      const resetConnect = (afterWrite: boolean) =>
        new Promise<void>((resolve) => {
          const socket = net.connect(port, '127.0.0.1', () => {
            socket.write('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
            if (afterWrite) setImmediate(() => socket.resetAndDestroy());
            else socket.resetAndDestroy();
          });
          socket.on('error', () => undefined).on('close', () => resolve());
        });
      for (let attempt = 0; attempt < 100; attempt += 1) await resetConnect(attempt % 2 === 1);
      expect((await fetch(`${service.baseUrl}/health/live`)).status).toBe(200);
      expect([service.child.exitCode, service.stderr()]).toEqual([null, '']);
    } finally {
      discard(service);
    }
  });
});

describe('process lifecycle: one line when listening, a drain reported, exit 0 when drained and 1 when not', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    '%s: Nest start-up lines at debug, one listening line naming Redis and the queue, drain lines, exit 0',
    async (signal) => {
      const prefix = `t-${randomUUID().slice(0, 8)}`;
      recordKeyPrefixes(testRedisUrl(), [`${prefix}:`, `bull:${prefix}:`]);
      const service = await startService({ REDIS_URL: testRedisUrl(), CACHE_KEY_PREFIX: prefix, LOG_LEVEL: 'debug' });
      try {
        expect((await fetch(`${service.baseUrl}/health/live`)).status).toBe(200);
        const startupInfo = messages(service, INFO);
        expect(startupInfo.filter((msg) => !msg.startsWith('Applied migrations '))).toEqual([
          `Listening on ${service.baseUrl} (test; Redis ${testRedisUrl()}, one node; database ${service.databaseFile}; ` +
            `queue BullMQ under bull:${prefix})`,
        ]);
        const bootLines = service.lines.filter((line) => NEST_BOOT_CONTEXTS.includes(line.context ?? ''));
        expect(bootLines.length).toBeGreaterThan(20);
        expect(bootLines.every((line) => line.level === DEBUG)).toBe(true);

        const before = service.lines.length;
        service.child.kill(signal);
        expect(await service.exited).toEqual({ code: 0, signal: null });
        const drainLines = messages(service, INFO, before, 'Lifecycle');
        expect(drainLines).toHaveLength(2);
        expect(drainLines[0]).toBe(
          `${signal}: draining 0 request(s) and 0 callback delivery(ies) in flight, then the job queue worker and the ` +
            'Redis and database connections; at most 10000 ms',
        );
        expect(drainLines[1]).toMatch(/^Drained in \d+ ms \(0 request\(s\) and 0 callback delivery\(ies\), .*\); exiting 0$/);
      } finally {
        discard(service);
        await removeRedisKeys(testRedisUrl(), `${prefix}:`);
        await removeRedisKeys(testRedisUrl(), `bull:${prefix}:`);
      }
    },
    180_000,
  );

  /**
   * Runs `test` on a service that is being built: a Redis that accepts and never answers holds its
   * boot (the connect timeout), and `test` starts once the app has opened a connection to it.
   */
  async function whileBuilding(test: (service: Service) => Promise<void>): Promise<void> {
    const redis = await ResettingThenSilentServer.start();
    redis.hold();
    const service = spawnService({ REDIS_URL: redis.url, LOG_LEVEL: 'info' });
    try {
      const { value: opened } = await pollUntil(async () => redis.heldConnections, (count) => count > 0, 60_000, 5);
      expect(opened).toBeGreaterThan(0);
      await test(service);
    } finally {
      discard(service);
      await redis.stop();
    }
  }

  it.each(['SIGTERM', 'SIGINT'] as const)('%s while the app is being built: the drain runs once it is, it never listens, exit 0', async (signal) => {
    await whileBuilding(async (service) => {
      service.child.kill(signal);
      expect(await service.exited).toEqual({ code: 0, signal: null });
      expect(service.lines.some((line) => line.msg.startsWith('Listening on '))).toBe(false);
      const drain = messages(service, INFO, 0, 'Lifecycle');
      expect(drain[0]).toMatch(new RegExp(`^${signal}: draining 0 request\\(s\\)`));
      expect(drain.at(-1)).toMatch(/^Drained in \d+ ms .*; exiting 0$/);
    });
  }, 180_000);

  it.each([
    ['HOST names no address of this machine', () => ({ HOST: 'bogus.invalid' }), /^Invalid configuration: cannot listen on bogus\.invalid:0: HOST bogus\.invalid is not an address of this machine \(getaddrinfo/],
    ['PORT is taken', (taken: number) => ({ HOST: '127.0.0.1', PORT: String(taken) }), /^Invalid configuration: cannot listen on 127\.0\.0\.1:\d+: PORT \d+ is in use on 127\.0\.0\.1 \(listen EADDRINUSE/],
    // Node's recursive mkdir retried for ever on this path: the service spun at 100 % CPU, silent.
    ['DATABASE_URL is a file under a folder that cannot exist', () => ({ DATABASE_URL: 'file:/proc/no-such-folder/x.db' }), /^Invalid configuration: the database \/proc\/no-such-folder\/x\.db \(DATABASE_URL or SHARED_DB_PATH\) cannot be opened and migrated: ENOENT/],
    ['DATABASE_URL is a file SQLite cannot open', () => ({ DATABASE_URL: 'file:/proc/x.db' }), /^Invalid configuration: the database \/proc\/x\.db \(DATABASE_URL or SHARED_DB_PATH\) cannot be opened and migrated: unable to open database file/],
  ] as const)('%s: exit 1 with one line naming the variable, no stack', async (_case, env, expected) => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const service = spawnService(env((taken.address() as net.AddressInfo).port));
    try {
      expect(await service.exited).toEqual({ code: 1, signal: null });
      expect(service.stderr().trimEnd().split('\n')).toEqual([expect.stringMatching(expected)]);
    } finally {
      taken.close();
      discard(service);
    }
  }, 120_000);

  it('a second signal while the app is being built: exit 1 at once, saying so', async () => {
    await whileBuilding(async (service) => {
      service.child.kill('SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 100));
      const secondAt = Date.now();
      service.child.kill('SIGINT');
      expect(await service.exited).toEqual({ code: 1, signal: null });
      expect(Date.now() - secondAt).toBeLessThan(1_000);
      expect(service.stderr()).toBe('SIGINT while starting, after SIGTERM: exiting 1 without draining\n');
    });
  }, 180_000);

  it('SIGTERM while Redis is out of reach, each connection failed once and trying again: exit 0, nothing thrown', async () => {
    const redis = await ResettingThenSilentServer.start();
    const service = await startService({ REDIS_URL: redis.url, LOG_LEVEL: 'info' });
    try {
      redis.hold();
      // The command and subscriber connections, and each queue's producer, worker and blocking ones.
      const { value: held } = await pollUntil(async () => redis.heldConnections, (count) => count >= 8, 20_000, 20);
      expect(held).toBeGreaterThanOrEqual(8);
      service.child.kill('SIGTERM');
      expect(await service.exited).toEqual({ code: 0, signal: null });
      expect(service.stderr()).toBe('');
      expect(messages(service, INFO, 0, 'Lifecycle').at(-1)).toMatch(/^Drained in \d+ ms .*; exiting 0$/);
    } finally {
      discard(service);
      await redis.stop();
    }
  }, 180_000);

  it.each([
    ['all', 'killed'],
    ['worker', 'killed'],
    ['all', 'frozen'],
    ['api', 'frozen'],
  ] as const)('APP_ROLE=%s, Redis %s while the service runs, then SIGTERM: exit 0 well within the drain', async (role, fault) => {
    const redis = await startFaultyRedis();
    const service = await startService({ REDIS_URL: redis.url, APP_ROLE: role, LOG_LEVEL: 'info' });
    try {
      if (fault === 'killed') await redis.kill();
      else redis.freeze();
      // The connections have seen the fault: closed ones are reconnecting, frozen ones hold what they sent.
      if (fault === 'killed') {
        const { value: down } = await pollUntil(async () => messages(service, 40).filter((msg) => /connection (closed|down)/.test(msg)), (found) => found.length > 0, 5_000, 20);
        expect(down.length).toBeGreaterThan(0);
      } else {
        expect((await fetch(`${service.baseUrl}/health/live`)).status).toBe(200);
      }
      const before = service.lines.length;
      const signalledAt = Date.now();
      service.child.kill('SIGTERM');
      expect(await service.exited).toEqual({ code: 0, signal: null });
      expect(Date.now() - signalledAt).toBeLessThan(8_000);
      expect(service.stderr()).toBe('');
      expect(messages(service, INFO, before, 'Lifecycle').at(-1)).toMatch(/^Drained in \d+ ms .*; exiting 0$/);
    } finally {
      discard(service);
      await redis.stop();
    }
  }, 180_000);

  it('SIGTERM while a callback waits for a frozen Redis (CALLBACK_REDIS_WAIT_MS): answered 503 and logged at once, exit 0', async () => {
    const redis = await startFaultyRedis();
    const service = await startService({ REDIS_URL: redis.url, CALLBACK_REDIS_WAIT_MS: '20000', LOG_LEVEL: 'info' });
    try {
      const requestId = `telegram-${Math.floor(Date.now() / 1000)}-${randomUUID().slice(0, 8)}`;
      const output = `kept for a replay ${randomUUID()}`;
      redis.freeze();
      const answer = fetch(`${service.baseUrl}/cursor-runner/callback`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Webhook-Secret': 'changeme' },
        body: JSON.stringify({ request_id: requestId, success: true, output }),
      });
      await pollUntil(async () => messages(service, 40).some((msg) => msg.startsWith(`Redis cannot take cursor-runner result ${requestId} now`)), Boolean, 10_000, 20);
      const signalledAt = Date.now();
      service.child.kill('SIGTERM');
      const response = await answer;
      const answeredMs = Date.now() - signalledAt;
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ received: false, error: 'Pending request store unavailable', request_id: requestId });
      // The try under way, if any, ends within its command budget (REDIS_COMMAND_TIMEOUT_MS, 1 s).
      expect(answeredMs).toBeLessThan(2_500);
      expect(await service.exited).toEqual({ code: 0, signal: null });
      const logged = service.lines.find((line) => line.level === 50 && line.msg.startsWith('Pending request store unavailable (the app is shutting down)'));
      expect(logged).toMatchObject({ requestId, callback: { output } });
    } finally {
      discard(service);
      await redis.stop();
    }
  }, 180_000);

  it('SIGTERM stops accepting connections at once, while the job queue workers still stop (Redis frozen): the drain then ends, exit 0', async () => {
    const redis = await startFaultyRedis();
    const service = await startService({ REDIS_URL: redis.url, LOG_LEVEL: 'info' });
    try {
      expect((await fetch(`${service.baseUrl}/health/live`)).status).toBe(200);
      const before = service.lines.length;
      let exited = false;
      void service.exited.then(() => (exited = true));
      redis.freeze();
      service.child.kill('SIGTERM');
      await pollUntil(async () => messages(service, INFO, before, 'Lifecycle'), (lines) => lines.length > 0, 10_000, 5);
      // Stopping the workers waits on the frozen Redis: before this, the listener stayed open meanwhile
      // and new connections were served, and under load the drain never ended (exit 1).
      const refusals: string[] = [];
      for (let probe = 0; probe < 5 && !exited; probe += 1) {
        const outcome = await fetch(`${service.baseUrl}/health/live`).then(
          (response) => `answered ${response.status}`,
          (error: Error & { cause?: { code?: string } }) => error.cause?.code ?? error.message,
        );
        if (!exited) refusals.push(outcome);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(refusals.length).toBeGreaterThan(0);
      expect(refusals).toEqual(refusals.map(() => 'ECONNREFUSED'));
      redis.thaw();
      expect(await service.exited).toEqual({ code: 0, signal: null });
    } finally {
      discard(service);
      await redis.stop();
    }
  }, 180_000);

  it("SIGKILL during a callback's claim on a frozen Redis: the claim that lands on the thaw lapses within its short TTL, and the replay delivers once", async () => {
    const redis = await startFaultyRedis();
    const telegram = await FakeTelegram.start(REPLAY_TOKEN);
    const replaying = await startTestApp({
      env: { REDIS_URL: redis.url, TELEGRAM_BOT_TOKEN: REPLAY_TOKEN, TELEGRAM_API_BASE_URL: telegram.url, CACHE_KEY_PREFIX: `kill-${randomUUID().slice(0, 8)}` },
    });
    // CALLBACK_REDIS_WAIT_MS 4 s: the killed process's claims last 4 s + 4 command budgets + 1 s = 9 s until queued.
    const service = await startService({ REDIS_URL: redis.url, CALLBACK_REDIS_WAIT_MS: '4000', LOG_LEVEL: 'info' });
    try {
      const chatId = 771_001;
      const requestId = await storeWaitingRequest(replaying, chatId);
      const output = `across a kill ${randomUUID()}`;
      const body = JSON.stringify({ request_id: requestId, success: true, output });
      redis.freeze();
      void fetch(`${service.baseUrl}/cursor-runner/callback`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Webhook-Secret': 'changeme' },
        body,
      }).catch(() => undefined);
      // The first try failed after its 1 s budget; the second starts 0.5 s later with a claim that stays in
      // the frozen Redis's socket: killed during it, the process leaves that claim to land on the thaw.
      await pollUntil(async () => messages(service, 40).some((msg) => msg.startsWith(`Redis cannot take cursor-runner result ${requestId} now`)), Boolean, 10_000, 20);
      await new Promise((resolve) => setTimeout(resolve, 800));
      service.child.kill('SIGKILL');
      await service.exited;
      redis.thaw();
      // The fault under test happened: the dead process's claim landed on the thaw, with its short TTL.
      const observer = new Redis(redis.url);
      try {
        const { value: strandedTtl } = await pollUntil(() => observer.ttl(deliveryClaimKey(requestId)), (ttl) => ttl > 0, 2_000, 20);
        expect(strandedTtl).toBeGreaterThan(0);
        expect(strandedTtl).toBeLessThanOrEqual(9);
      } finally {
        observer.disconnect();
      }

      // A replay as an operator makes it from the log: refused as a duplicate while the stranded claim lasts, then taken.
      const answers: unknown[] = [];
      const replay = async () => {
        const response = await fetch(`${replaying.baseUrl}/cursor-runner/callback`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'X-Webhook-Secret': 'test-webhook-secret' },
          body,
        });
        answers.push(await response.json());
        return answers.at(-1) as { message?: string };
      };
      const { elapsedMs } = await pollUntil(replay, (answer) => answer.message === undefined, 15_000, 250);
      expect(answers.at(-1)).toEqual({ received: true, request_id: requestId });
      expect(new Set(answers.slice(0, -1).map((answer) => JSON.stringify(answer)))).toEqual(
        new Set([JSON.stringify({ received: true, request_id: requestId, message: 'Already being delivered' })]),
      );
      expect(elapsedMs).toBeLessThan(10_000);
      await replaying.app.get(DeliverResult).settled();
      expect(telegram.deliveredMessages(chatId).map((message) => message.text)).toEqual([output]);
    } finally {
      discard(service);
      await replaying.close();
      await telegram.stop();
      await redis.stop();
    }
  }, 180_000);

  it('SIGTERM with a request body still arriving: the body is refused 408 before the drain runs out, exit 0', async () => {
    const service = await startService({ SHUTDOWN_TIMEOUT_MS: '3000', LOG_LEVEL: 'info' });
    try {
      const upload = openRaw(Number(new URL(service.baseUrl).port), 10_000);
      upload.send(
        'POST /cursor-runner/cursor/execute HTTP/1.1\r\nHost: t\r\nX-Admin-Secret: changeme\r\nContent-Type: application/json\r\n' +
          'Content-Length: 400\r\n\r\n{"prompt":"',
      );
      // A byte every 100 ms: the body keeps arriving, far slower than HTTP_REQUEST_TIMEOUT_MS would refuse.
      const trickle = setInterval(() => upload.send('a'), 100);
      try {
        await pollUntil(async () => (await fetch(`${service.baseUrl}/health/live`)).status, (status) => status === 200, 5_000, 50);
        const before = service.lines.length;
        const signalledAt = Date.now();
        service.child.kill('SIGTERM');
        const answers = await upload.answers;
        expect(answers.map((answer) => [answer.status, answer.headers.connection])).toEqual([[408, 'close']]);
        expect(await service.exited).toEqual({ code: 0, signal: null });
        const tookMs = Date.now() - signalledAt;
        expect(tookMs).toBeGreaterThanOrEqual(1_400);
        expect(tookMs).toBeLessThan(3_000);
        const drain = messages(service, INFO, before, 'Lifecycle');
        expect(drain[0]).toMatch(/^SIGTERM: draining 1 request\(s\) and 0 callback delivery\(ies\) in flight/);
        expect(drain.at(-1)).toMatch(/^Drained in \d+ ms .*; exiting 0$/);
        expect(messages(service, 40, before, 'Lifecycle')).toEqual([expect.stringMatching(/^Refused 1 request body\(ies\) still arriving \d+ ms into the drain \(408\)$/)]);
      } finally {
        clearInterval(trickle);
      }
    } finally {
      discard(service);
    }
  }, 180_000);

  describe('with a request in flight', () => {
    let release: () => void;
    let cursorRunner: FakeHttpServer;

    beforeEach(async () => {
      const held = new Promise<void>((resolve) => (release = resolve));
      cursorRunner = await FakeHttpServer.start(() => ({
        release: held,
        body: { success: true, requestId: 'r', output: 'done', exitCode: 0 },
      }));
    });
    afterEach(async () => {
      release();
      await cursorRunner.stop();
    });

    async function startWithRequestInFlight(): Promise<Service> {
      const service = await startService({ CURSOR_RUNNER_URL: cursorRunner.url, SHUTDOWN_TIMEOUT_MS: '1500', LOG_LEVEL: 'info' });
      void fetch(`${service.baseUrl}/cursor-runner/cursor/execute`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-admin-secret': 'changeme' },
        body: JSON.stringify({ prompt: 'hold on' }),
      }).catch(() => undefined);
      await cursorRunner.waitForRequests(1, 10_000);
      return service;
    }

    it('waits for it and exits 0 when it finishes within SHUTDOWN_TIMEOUT_MS', async () => {
      const service = await startWithRequestInFlight();
      try {
        const before = service.lines.length;
        service.child.kill('SIGTERM');
        await pollUntil(async () => messages(service, INFO, before, 'Lifecycle'), (lines) => lines.length > 0, 10_000, 20);
        release();
        expect(await service.exited).toEqual({ code: 0, signal: null });
        const drainLines = messages(service, INFO, before, 'Lifecycle');
        expect(drainLines).toHaveLength(2);
        expect(drainLines[0]).toMatch(/^SIGTERM: draining 1 request\(s\) and 0 callback delivery\(ies\) in flight/);
        expect(drainLines[1]).toMatch(/^Drained in \d+ ms \(1 request\(s\) and 0 callback delivery\(ies\), /);
      } finally {
        discard(service);
      }
    }, 180_000);

    it('answers the requests pipelined behind the one in flight, whose routes have run, before exiting 0', async () => {
      const service = await startService({ CURSOR_RUNNER_URL: cursorRunner.url, SHUTDOWN_TIMEOUT_MS: '5000', LOG_LEVEL: 'info' });
      try {
        const execute = (prompt: string) =>
          rawRequest(
            'POST',
            '/cursor-runner/cursor/execute',
            { 'Content-Type': 'application/json', 'X-Admin-Secret': 'changeme' },
            JSON.stringify({ prompt }),
            { keepAlive: true },
          );
        const answers = sendRawAll(Number(new URL(service.baseUrl).port), Buffer.concat([execute('first'), execute('second')]), 20_000);
        await cursorRunner.waitForRequests(2, 10_000);
        const before = service.lines.length;
        service.child.kill('SIGTERM');
        await pollUntil(async () => messages(service, INFO, before, 'Lifecycle'), (lines) => lines.length > 0, 10_000, 20);
        release();

        const received = await answers;
        expect(received.map((answer) => [answer.status, answer.headers.connection])).toEqual([
          [200, 'keep-alive'],
          [200, 'close'],
        ]);
        expect(await service.exited).toEqual({ code: 0, signal: null });
        expect(messages(service, INFO, before, 'Lifecycle')[0]).toMatch(/^SIGTERM: draining 2 request\(s\) and 0 callback delivery\(ies\) in flight/);
      } finally {
        discard(service);
      }
    }, 180_000);

    it.each(['SIGTERM', 'SIGINT'] as const)(
      '%s: exits 1 with a line naming what was left when the drain outlasts SHUTDOWN_TIMEOUT_MS',
      async (signal) => {
        const service = await startWithRequestInFlight();
        try {
          const signalledAt = Date.now();
          service.child.kill(signal);
          expect(await service.exited).toEqual({ code: 1, signal: null });
          const tookMs = Date.now() - signalledAt;
          expect(tookMs).toBeGreaterThanOrEqual(1_400);
          expect(tookMs).toBeLessThan(5_000);
          expect(service.lines.filter((line) => line.level === 50).map((line) => line.msg)).toEqual([
            'Drain did not finish within 1500 ms (1 request(s) and 0 callback delivery(ies) still in flight); exiting 1',
          ]);
        } finally {
          discard(service);
        }
      },
      180_000,
    );
  });
});
