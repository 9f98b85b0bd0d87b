import * as fs from 'node:fs';
import { Agent, createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import Redis from 'ioredis';
import { AppProcess } from '../test/support/faults/app-process';
import { EXECUTE_ASYNC, cursorRunnerProtocol, finishedRunCallback, sendCallback } from '../test/support/fakes/cursor-runner-server';
import { FakeHttpServer, type FakeReply, type RecordedRequest } from '../test/support/fakes/fake-http-server';
import { FakeTelegram } from '../test/support/fakes/telegram-server';
import { startFaultyRedis, type FaultyRedis } from '../test/support/redis-server';
import { percentile } from './statistics';

/**
 * What the fleet benchmarks (`fleet.bench.ts`, `faults.bench.ts`) share: the real app as child
 * processes in any mix of roles on one `redis-server` of the benchmark's own and one SQLite file,
 * a round-robin front, a cursor-runner stand-in that counts forwards per prompt and calls back,
 * a fake Telegram that records sends, a Telegram-like sender of unique updates, a settings
 * writer/reader pair that finds stale reads, and the tally of what reached whom.
 */

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A duration from the environment in milliseconds, or `fallback`. */
export function envMs(name: string, fallback: number): number {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

export const BOT_TOKEN = '777777:fleet-bench-token';
export const WEBHOOK_SECRET = 'bench-webhook-secret';
export const TELEGRAM_SECRET = 'bench-telegram-secret';
export const ADMIN_HEADERS = { 'X-Admin-Secret': WEBHOOK_SECRET, 'content-type': 'application/json' };
const QUEUE_PREFIX = 'bull:fleet-bench';

/** The compiled entry point (`npm run build`), run with plain `node` as production runs it. */
export const BUILT_MAIN = path.resolve(__dirname, '../dist/apps/api/apps/api/src/main.js');

// ---------------------------------------------------------------------------------------------
// Child processes: every one started here is killed when the benchmark process ends, however.

/** A process this benchmark started, and whether it is still that process (a pid may be reused once it ends). */
interface Child {
  pid: number | undefined;
  alive(): boolean;
}

const children = new Set<Child>();
let exitHookInstalled = false;

function isRedisServer(pid: number | undefined): boolean {
  try {
    return pid !== undefined && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('redis-server');
  } catch {
    return false;
  }
}

function killAllNow(): void {
  for (const child of children) {
    if (!child.pid || !child.alive()) continue;
    try {
      process.kill(child.pid, 'SIGCONT');
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAllNow();
      process.exit(130);
    });
  }
}

// ---------------------------------------------------------------------------------------------
// The round-robin front.

/** Headers of one connection, not of the message: never passed on by a proxy. */
const HOP_BY_HOP = ['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection'];

export interface Backend {
  name: string;
  /** `http://127.0.0.1:<port>` of the member now, or undefined while it is down. */
  baseUrl(): string | undefined;
}

/**
 * A small HTTP load balancer in front of the API instances, as a Kubernetes Service or an ingress
 * would be: round robin over the members that are up; a refused connection goes to the next member
 * (nothing was sent); a member that dies mid-request gives a 502 marked `x-front-error`. Every answer
 * names its member in `x-fleet-member`.
 */
export class RoundRobinFront {
  private next = 0;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });
  /** 502s the front itself answered (no member could answer). */
  frontErrors = 0;
  /** Callbacks (`POST /cursor-runner/callback`) each member is answering right now. */
  private readonly callbacksInFlight = new Map<string, number>();

  private constructor(
    private readonly server: Server,
    private readonly backends: () => Backend[],
  ) {}

  static async start(backends: () => Backend[]): Promise<RoundRobinFront> {
    let front: RoundRobinFront | undefined;
    const server = createServer((req, res) => void front!.handle(req, res));
    front = new RoundRobinFront(server, backends);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return front;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Whether `member` is answering a callback right now. */
  answeringCallback(member: string): boolean {
    return (this.callbacksInFlight.get(member) ?? 0) > 0;
  }

  async stop(): Promise<void> {
    this.agent.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const members = this.backends();
    for (let tried = 0; tried < members.length; tried += 1) {
      const member = members[this.next++ % members.length];
      const base = member.baseUrl();
      if (!base) continue;
      const outcome = await this.forward(base, member.name, req, body, res);
      if (outcome !== 'refused') return;
    }
    this.frontErrors += 1;
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json', 'x-front-error': 'no-member' });
    res.end('{"error":"no fleet member answered"}');
  }

  private async forward(base: string, name: string, req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<'done' | 'refused'> {
    const callback = req.url?.startsWith('/cursor-runner/callback') === true;
    if (callback) this.callbacksInFlight.set(name, (this.callbacksInFlight.get(name) ?? 0) + 1);
    try {
      return await this.exchange(base, name, req, body, res);
    } finally {
      if (callback) this.callbacksInFlight.set(name, (this.callbacksInFlight.get(name) ?? 1) - 1);
    }
  }

  private exchange(base: string, name: string, req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<'done' | 'refused'> {
    return new Promise((resolve) => {
      const headers: Record<string, string | string[] | undefined> = { ...req.headers, 'content-length': String(body.length) };
      for (const header of HOP_BY_HOP) delete headers[header];
      const outgoing = httpRequest(`${base}${req.url ?? '/'}`, { method: req.method, headers, agent: this.agent }, (answer) => {
        const answerHeaders: Record<string, string | string[] | undefined> = { ...answer.headers, 'x-fleet-member': name };
        for (const header of HOP_BY_HOP) delete answerHeaders[header];
        res.writeHead(answer.statusCode ?? 502, answerHeaders);
        answer.pipe(res);
        answer.once('end', () => resolve('done'));
        answer.once('error', () => {
          res.destroy();
          resolve('done');
        });
      });
      outgoing.once('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'ECONNREFUSED') return resolve('refused');
        this.frontErrors += 1;
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json', 'x-front-error': 'member-died', 'x-fleet-member': name });
        res.end('{"error":"the member closed the connection"}');
        resolve('done');
      });
      outgoing.end(body);
    });
  }
}

// ---------------------------------------------------------------------------------------------
// The cursor-runner stand-in.

export interface Forward {
  requestId: string;
  prompt: string;
  at: number;
  /** The fleet member that forwarded it (its `CURSOR_RUNNER_URL` ends in `/via/<name>`). */
  via: string | undefined;
}

/** `/via/<name>` at the start of a path: which member a call came from. */
const VIA = /^\/via\/([^/]+)(\/.*)$/;

export interface CallbackSent {
  requestId: string;
  prompt: string;
  status: number;
  /** The app's answer body, parsed when JSON. */
  answer: Record<string, unknown> | undefined;
  startedAt: number;
  ms: number;
}

/**
 * cursor-runner's protocol (the test fake's) with two changes for a soak: `POST
 * /cursor/execute/async` acknowledges after `answerMs`, as a cursor-runner under load does, and the
 * run's callback (the fake's exact body) is posted `runMs` after the acknowledgement, timed. Forwards
 * are counted per prompt; the output names the request id so a delivery can be counted per request.
 */
export class CountingCursorRunner {
  readonly forwards: Forward[] = [];
  readonly callbacks: CallbackSent[] = [];
  /** Callbacks scheduled and not yet answered. */
  inFlight = 0;
  /** When false, runs are acknowledged and never call back (a throughput phase counts forwards only). */
  callsBack = true;
  private readonly protocol = cursorRunnerProtocol({ webhookSecret: WEBHOOK_SECRET });
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Runs each member has asked for and not yet had acknowledged. */
  private readonly awaitingAck = new Map<string, number>();
  http!: FakeHttpServer;

  constructor(
    public answerMs: number,
    public runMs: number,
  ) {}

  async start(): Promise<void> {
    this.http = await FakeHttpServer.start((request) => this.respond(request));
  }

  get url(): string {
    return this.http.url;
  }

  /** Forwards per prompt. */
  forwardsByPrompt(): Map<string, Forward[]> {
    const byPrompt = new Map<string, Forward[]>();
    for (const forward of this.forwards) byPrompt.set(forward.prompt, [...(byPrompt.get(forward.prompt) ?? []), forward]);
    return byPrompt;
  }

  /** Whether `member` is waiting for the acknowledgement of a run: killed now, it dies mid-forward. */
  forwarding(member: string): boolean {
    return (this.awaitingAck.get(member) ?? 0) > 0;
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    await this.http.stop();
  }

  private respond(recorded: RecordedRequest): FakeReply {
    const via = VIA.exec(recorded.path);
    const request = via ? { ...recorded, path: via[2] } : recorded;
    const reply = this.protocol(request);
    if (`${request.method} ${request.path}` !== EXECUTE_ASYNC || 'drop' in reply || (reply.status ?? 200) !== 200) return reply;
    const body = request.body as Record<string, unknown>;
    const requestId = String(body.id);
    const prompt = String(body.prompt);
    const member = via?.[1];
    this.forwards.push({ requestId, prompt, at: Date.now(), via: member });
    if (member) {
      this.awaitingAck.set(member, (this.awaitingAck.get(member) ?? 0) + 1);
      const acknowledged = setTimeout(() => {
        this.timers.delete(acknowledged);
        this.awaitingAck.set(member, (this.awaitingAck.get(member) ?? 1) - 1);
      }, this.answerMs);
      this.timers.add(acknowledged);
    }
    if (this.callsBack && typeof body.callbackUrl === 'string') this.scheduleCallback(body.callbackUrl, requestId, prompt);
    return { ...reply, delayMs: this.answerMs };
  }

  private scheduleCallback(callbackUrl: string, requestId: string, prompt: string): void {
    this.inFlight += 1;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const body = finishedRunCallback(requestId, { stdout: `result of ${requestId}` }, { prompt, branchName: 'main', durationMs: this.runMs });
      const startedAt = Date.now();
      void sendCallback(callbackUrl, body, WEBHOOK_SECRET).then((sent) => {
        this.inFlight -= 1;
        let answer: Record<string, unknown> | undefined;
        try {
          answer = JSON.parse(sent.answer) as Record<string, unknown>;
        } catch {
          answer = undefined;
        }
        this.callbacks.push({ requestId, prompt, status: sent.status, answer, startedAt, ms: Date.now() - startedAt });
      });
    }, this.answerMs + this.runMs);
    this.timers.add(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// The fleet.

export type Role = 'api' | 'worker' | 'all';

/** The work a SIGKILL can be aimed at (see {@link Fleet.killMidWork}). */
export type MidWork = 'forward' | 'send' | 'retry' | 'callback' | 'any';

export class FleetMember implements Backend {
  app: AppProcess | undefined;
  /** Starts since the benchmark began (1 = never restarted). */
  starts = 0;
  constructor(
    readonly name: string,
    readonly role: Role,
  ) {}

  baseUrl(): string | undefined {
    return this.app?.running ? this.app.baseUrl : undefined;
  }

  get running(): boolean {
    return this.app?.running === true;
  }
}

export interface FleetOptions {
  apis: number;
  workers: number;
  /** Members with `APP_ROLE=all` (the faults benchmark). */
  all?: number;
  /** Extra environment for every member. */
  env?: Record<string, string>;
  runnerAnswerMs: number;
  runnerRunMs: number;
  /** How long the fake Telegram takes to answer each call: a delivery in flight when a process dies. */
  telegramMs?: number;
  /**
   * Every this many `sendMessage` calls, one is answered 429 with `retry_after: 1`, as Telegram
   * throttles a busy bot: that delivery then waits a second for its retry (0 = never).
   */
  telegram429Every?: number;
  /** Run `main.ts` through @swc-node/register instead of the build. */
  fromSource?: boolean;
  /** Redis keeps every write in an append-only file synced before each answer, so its restart loses nothing. */
  redisAppendOnly?: boolean;
}

/**
 * The whole soak world. Start with {@link Fleet.start}; {@link Fleet.stop} ends every process,
 * also the ones a failure left behind (and an exit hook does it when the process ends otherwise).
 */
export class Fleet {
  readonly members: FleetMember[] = [];
  /** Each SIGKILL the benchmark sent a running member (not the final stop), with its time. */
  readonly sigkills: { member: string; at: number }[] = [];
  /** Every app process started, in order, with its member's name (for {@link Fleet.writeLogs}). */
  private readonly processes: { member: string; start: number; app: AppProcess }[] = [];
  redis!: FaultyRedis;
  telegram!: FakeTelegram;
  runner!: CountingCursorRunner;
  front!: RoundRobinFront;
  private dataDir = '';
  private env: Record<string, string> = {};
  private throttle: NodeJS.Timeout | undefined;
  /** Index (among all Telegram requests) and arrival time of each call answered 429. */
  private readonly throttled: { index: number; at: number }[] = [];
  /** Arrival time of each Telegram request, by index, as far as the throttle loop has seen. */
  private readonly telegramArrivals: number[] = [];

  private constructor(private readonly options: FleetOptions) {}

  static async start(options: FleetOptions): Promise<Fleet> {
    installExitHook();
    if (!options.fromSource && !fs.existsSync(BUILT_MAIN)) {
      throw new Error(`${BUILT_MAIN} is missing: run \`npm run build\` first (the bench scripts do)`);
    }
    const fleet = new Fleet(options);
    try {
      await fleet.boot();
    } catch (error) {
      await fleet.stop();
      throw error;
    }
    return fleet;
  }

  get apis(): FleetMember[] {
    return this.members.filter((member) => member.role !== 'worker');
  }

  get workers(): FleetMember[] {
    return this.members.filter((member) => member.role === 'worker');
  }

  get queuePrefix(): string {
    return QUEUE_PREFIX;
  }

  private async boot(): Promise<void> {
    const redis = await startFaultyRedis(
      this.options.redisAppendOnly ? { appendOnlyDir: fs.mkdtempSync(path.join(os.tmpdir(), 'bench-redis-aof-')) } : {},
    );
    this.redis = redis;
    children.add({
      get pid() {
        return redis.pid;
      },
      alive: () => isRedisServer(redis.pid),
    });
    this.telegram = await FakeTelegram.start(BOT_TOKEN);
    this.telegram.answerDelayMs = this.options.telegramMs ?? 0;
    this.startThrottle(this.options.telegram429Every ?? 0);
    this.runner = new CountingCursorRunner(this.options.runnerAnswerMs, this.options.runnerRunMs);
    await this.runner.start();
    this.front = await RoundRobinFront.start(() => this.apis);
    this.dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jarek-va-fleet-'));
    this.env = {
      NODE_ENV: 'production',
      LOG_LEVEL: process.env.FLEET_LOG_LEVEL ?? 'warn',
      REDIS_URL: this.redis.url,
      DATABASE_URL: `file:${path.join(this.dataDir, 'shared.sqlite3')}`,
      WEBHOOK_SECRET,
      TELEGRAM_WEBHOOK_SECRET: TELEGRAM_SECRET,
      TELEGRAM_BOT_TOKEN: BOT_TOKEN,
      // Bounds the lease a delivery waits before taking over a send a killed member began (two of
      // these and 5 s), so the drain sees those deliveries finish; the fake answers in telegramMs.
      TELEGRAM_TIMEOUT_MS: '5000',
      TELEGRAM_WEBHOOK_BASE_URL: this.front.url,
      CURSOR_RUNNER_CALLBACK_BASE_URL: this.front.url,
      CACHE_KEY_PREFIX: 'fleet-bench',
      QUEUE_PREFIX,
      ...this.options.env,
    };
    const { apis, workers, all = 0 } = this.options;
    for (let i = 0; i < all; i += 1) this.members.push(new FleetMember(`all-${i + 1}`, 'all'));
    for (let i = 0; i < apis; i += 1) this.members.push(new FleetMember(`api-${i + 1}`, 'api'));
    for (let i = 0; i < workers; i += 1) this.members.push(new FleetMember(`worker-${i + 1}`, 'worker'));
    // The first one alone: it applies the database migrations the others then find done.
    await this.startMember(this.members[0]);
    await Promise.all(this.members.slice(1).map((member) => this.startMember(member)));
  }

  /** Starts (or starts again) `member`, resolved once it answers `/health/live`. */
  async startMember(member: FleetMember): Promise<void> {
    const app = await AppProcess.start({
      env: {
        ...this.env,
        APP_ROLE: member.role,
        INSTANCE_ID: member.name,
        // Same stand-ins, a path of the member's own: a call tells which member made it.
        CURSOR_RUNNER_URL: `${this.runner.url}/via/${member.name}`,
        TELEGRAM_API_BASE_URL: `${this.telegram.url}/via/${member.name}`,
      },
      readyWithinMs: 120_000,
      script: this.options.fromSource ? undefined : BUILT_MAIN,
    });
    children.add({ pid: app.pid, alive: () => app.running });
    member.app = app;
    member.starts += 1;
    this.processes.push({ member: member.name, start: member.starts, app });
  }

  /**
   * Answers one `sendMessage` in `every` with 429 (`retry_after: 1`). A reply queued with
   * `failNext` goes to the next call, so queuing one only when the previous one has been used
   * tells exactly which call got it. Also stamps each Telegram request's arrival.
   */
  private startThrottle(every: number): void {
    let pendingIndex: number | undefined;
    let sinceLast = 0;
    this.throttle = setInterval(() => {
      const requests = this.telegram.http.requests;
      const now = Date.now();
      for (let index = this.telegramArrivals.length; index < requests.length; index += 1) {
        this.telegramArrivals.push(now);
        if (!/\/sendMessage$/.test(requests[index].path)) continue;
        if (pendingIndex !== undefined) {
          this.throttled.push({ index, at: now });
          pendingIndex = undefined;
          sinceLast = 0;
        } else sinceLast += 1;
      }
      if (every > 0 && pendingIndex === undefined && sinceLast >= every - 1) {
        pendingIndex = requests.length;
        this.telegram.failNext(BOT_TOKEN, 'sendMessage', {
          status: 429,
          body: { ok: false, error_code: 429, description: 'Too Many Requests: retry after 1', parameters: { retry_after: 1 } },
        });
      }
    }, 2);
  }

  /** Telegram calls answered 429 so far. */
  get throttledCalls(): number {
    return this.throttled.length;
  }

  /** When the Telegram request at `index` (among all its requests) arrived, as the throttle loop saw it. */
  telegramArrivalOf(index: number): number | undefined {
    return this.telegramArrivals[index];
  }

  /**
   * Writes each app process's log lines (at the members' `LOG_LEVEL`) to `<dir>/<member>-<start>.log`,
   * one JSON line each: to find out afterwards what a member did before it was killed.
   */
  writeLogs(dir: string): void {
    fs.mkdirSync(dir, { recursive: true });
    for (const { member, start, app } of this.processes) {
      fs.writeFileSync(path.join(dir, `${member}-${start}.log`), app.lines.map((line) => JSON.stringify(line)).join('\n') + '\n');
    }
  }


  /**
   * SIGKILLs `member` at the first moment within `maxWaitMs` when it is in the middle of `work`,
   * where a crash can lose or repeat something (otherwise at the end of the wait):
   * - `forward`: waiting for cursor-runner to acknowledge a run;
   * - `send`: a Telegram call under way;
   * - `retry`: a send Telegram throttled, waiting for its retry;
   * - `callback`: answering a callback;
   * - `any`: any of these.
   */
  async killMidWork(member: FleetMember, work: MidWork = 'any', maxWaitMs = 5_000): Promise<{ midWork: boolean; waitedMs: number }> {
    const started = Date.now();
    const telegramDelay = this.telegram.answerDelayMs;
    const requests = this.telegram.http.requests;
    const via = (index: number) => VIA.exec(requests[index]?.path ?? '')?.[1];
    const checks: Record<Exclude<MidWork, 'any'>, (now: number) => boolean> = {
      forward: () => this.runner.forwarding(member.name),
      send: (now) => {
        for (let index = this.telegramArrivals.length - 1; index >= 0 && now - this.telegramArrivals[index] < telegramDelay - 10; index -= 1) {
          if (via(index) === member.name) return true;
        }
        return false;
      },
      retry: (now) => this.throttled.some((call) => via(call.index) === member.name && now - call.at < 800),
      callback: () => this.front.answeringCallback(member.name),
    };
    const applies = work === 'any' ? Object.values(checks) : [checks[work]];
    let midWork = false;
    while (Date.now() - started < maxWaitMs) {
      const now = Date.now();
      if (applies.some((check) => check(now))) {
        midWork = true;
        break;
      }
      await sleep(2);
    }
    await this.stopMember(member, 'SIGKILL');
    return { midWork, waitedMs: Date.now() - started };
  }

  /** Sends `signal` to `member` and resolves once it has exited. */
  async stopMember(member: FleetMember, signal: NodeJS.Signals): Promise<void> {
    if (signal === 'SIGKILL' && member.running) this.sigkills.push({ member: member.name, at: Date.now() });
    await member.app?.kill(signal);
  }

  /** CPU seconds used so far by the fleet's processes: members (as now running) and Redis. */
  cpuSeconds(): number {
    return this.members.reduce((sum, member) => sum + cpuSecondsOf(member.app?.running ? member.app.pid : undefined), 0) + cpuSecondsOf(this.redis.pid);
  }

  /** Jobs not finished in any queue: waiting, active (a dead worker's until its lock expires), delayed. */
  async pendingJobs(): Promise<number> {
    const redis = new Redis(this.redis.url, { maxRetriesPerRequest: 1, connectTimeout: 1_000, lazyConnect: true });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      let total = 0;
      for await (const keys of redis.scanStream({ match: `${QUEUE_PREFIX}:*`, count: 1_000 }) as AsyncIterable<string[]>) {
        for (const key of keys) {
          const kind = key.slice(key.lastIndexOf(':') + 1);
          if (kind === 'wait' || kind === 'active' || kind === 'paused') total += await redis.llen(key);
          else if (kind === 'delayed' || kind === 'prioritized') total += await redis.zcard(key);
        }
      }
      return total;
    } finally {
      redis.disconnect();
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.throttle);
    await Promise.all(this.members.map((member) => member.app?.kill('SIGKILL') ?? Promise.resolve()));
    await this.front?.stop();
    await this.runner?.stop();
    await this.telegram?.stop();
    await this.redis?.stop();
    killAllNow();
    children.clear();
    if (this.dataDir) fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Requests.

export interface Answer {
  status: number;
  body: unknown;
  ms: number;
  /** Set when the front answered itself (no member, or the member died mid-request). */
  frontError?: string;
  member?: string;
}

export async function timedFetch(url: string, init: RequestInit = {}, timeoutMs = 10_000): Promise<Answer> {
  const started = performance.now();
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = text ? (JSON.parse(text) as unknown) : null;
    } catch {
      // Not JSON: kept as text.
    }
    return {
      status: response.status,
      body,
      ms: performance.now() - started,
      frontError: response.headers.get('x-front-error') ?? undefined,
      member: response.headers.get('x-fleet-member') ?? undefined,
    };
  } catch {
    return { status: 0, body: null, ms: performance.now() - started };
  }
}

/** Latency samples and answers of one kind of request. */
export class RequestStats {
  readonly okMs: number[] = [];
  readonly statuses: Record<string, number> = {};
  appErrors5xx = 0;
  frontErrors = 0;
  count = 0;

  record(answer: Answer): void {
    this.count += 1;
    const label = answer.frontError ? `front ${answer.status}` : String(answer.status);
    this.statuses[label] = (this.statuses[label] ?? 0) + 1;
    if (answer.frontError) this.frontErrors += 1;
    else if (answer.status >= 500) this.appErrors5xx += 1;
    if (answer.status >= 200 && answer.status < 300) this.okMs.push(answer.ms);
  }

  summary() {
    const sorted = [...this.okMs].sort((a, b) => a - b);
    return {
      requests: this.count,
      p50Ms: sorted.length ? percentile(sorted, 0.5) : null,
      p99Ms: sorted.length ? percentile(sorted, 0.99) : null,
      appErrors5xx: this.appErrors5xx,
      frontErrors: this.frontErrors,
      statuses: this.statuses,
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Updates, sent as Telegram sends them.

export interface SentUpdate {
  updateId: number;
  chatId: number;
  /** Unique to this update: how the cursor-runner stand-in tells forwards of it apart. */
  prompt: string;
  kind: 'message' | 'callback_query';
  /** When the first attempt was sent (epoch ms). */
  firstSentAt: number;
  acknowledged: boolean;
  /** When the webhook answered 200 (epoch ms). */
  acknowledgedAt?: number;
  attempts: number;
}

/**
 * Sends unique updates (a text message, or a button press whose data is the prompt) to the webhook
 * the way Telegram does: again after any answer but 2xx, with growing waits, until `retryForMs`
 * has passed. Each update has its own chat, so what a chat was told belongs to one update.
 */
export class UpdateSender {
  readonly sent: SentUpdate[] = [];
  readonly stats = new RequestStats();
  /** Called with every attempt's answer (the faults benchmark counts them per phase). */
  onAnswer: ((answer: Answer) => void) | undefined;
  private readonly pending = new Set<Promise<void>>();
  private nextId: number;

  constructor(
    private readonly url: () => string,
    private readonly tag: string,
    private readonly retryForMs = 60_000,
  ) {
    this.nextId = Math.floor(Date.now() / 1000) * 1000;
  }

  /** Sends one new update (not awaited: it retries on its own); every tenth is a button press. */
  send(kind?: SentUpdate['kind']): SentUpdate {
    this.nextId += 1;
    const n = this.sent.length + 1;
    const update: SentUpdate = {
      updateId: this.nextId,
      chatId: 5_000_000 + (this.nextId % 1_000_000_000),
      prompt: `fleet ${this.tag} #${n}`,
      kind: kind ?? (n % 10 === 0 ? 'callback_query' : 'message'),
      firstSentAt: Date.now(),
      acknowledged: false,
      attempts: 0,
    };
    this.sent.push(update);
    const work = this.deliver(update).finally(() => this.pending.delete(work));
    this.pending.add(work);
    return update;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private body(update: SentUpdate): string {
    const date = Math.floor(Date.now() / 1000);
    const from = { id: update.chatId, is_bot: false, first_name: 'Bench' };
    const chat = { id: update.chatId, first_name: 'Bench', type: 'private' };
    if (update.kind === 'callback_query') {
      return JSON.stringify({
        update_id: update.updateId,
        callback_query: {
          id: `cq-${update.updateId}`,
          from,
          message: { message_id: 1, date, chat, text: 'Pick one' },
          chat_instance: String(update.chatId),
          data: update.prompt,
        },
      });
    }
    return JSON.stringify({ update_id: update.updateId, message: { message_id: update.updateId % 1_000_000, from, chat, date, text: update.prompt } });
  }

  private async deliver(update: SentUpdate): Promise<void> {
    const body = this.body(update);
    const deadline = Date.now() + this.retryForMs;
    for (let wait = 250; ; wait = Math.min(wait * 2, 4_000)) {
      update.attempts += 1;
      const answer = await timedFetch(`${this.url()}/telegram/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'X-Telegram-Bot-Api-Secret-Token': TELEGRAM_SECRET },
        body,
      });
      this.stats.record(answer);
      this.onAnswer?.(answer);
      if (answer.status === 200) {
        update.acknowledged = true;
        update.acknowledgedAt = Date.now();
        return;
      }
      if (Date.now() + wait > deadline) return;
      await sleep(wait);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Settings: writes and cached reads, and reads staler than the bound.

export interface StaleStats {
  /** Reads that began after a write had answered, with no other write of the name under way. */
  checkedReads: number;
  /** Of those, reads that answered the value from before the write. */
  staleReads: number;
  /** Stale reads that began later than the bound after the write answered. */
  staleBeyondBound: number;
  worstStaleMs: number;
  writes: number;
}

export function newStaleStats(): StaleStats {
  return { checkedReads: 0, staleReads: 0, staleBeyondBound: 0, worstStaleMs: 0, writes: 0 };
}

interface SettingState {
  name: string;
  value: boolean;
  /** When the last write answered 200; undefined while the value is unknown (a write failed). */
  ackedAt: number | undefined;
  writing: boolean;
  /** Bumped on every write start: a read that saw it move had a write overlap it. */
  generation: number;
}

/** Where a request goes: the front, or one member chosen per request. */
export type Target = () => string | undefined;

/**
 * Toggles settings (`PUT /settings/:name`) and reads them (`GET /settings/:name`, cached on every
 * instance), counting stale reads: a read that began after a write of its name had answered (no
 * other write of that name begun since) and answered the value from before. `boundMs` is the
 * documented staleness bound (docs/caching.md, "Cross-instance invalidation").
 */
export class SettingsProbe {
  readonly reads = new RequestStats();
  readonly writes = new RequestStats();
  stale: StaleStats = newStaleStats();
  /** Called with every read's and write's answer. */
  onAnswer: ((answer: Answer, kind: 'read' | 'write') => void) | undefined;
  private readonly settings: SettingState[];

  constructor(
    names: string[],
    private readonly boundMs: number,
  ) {
    this.settings = names.map((name) => ({ name, value: false, ackedAt: undefined, writing: false, generation: 0 }));
  }

  get names(): string[] {
    return this.settings.map((setting) => setting.name);
  }

  /** Writes the next value of setting `index` through `target`. */
  async write(index: number, target: Target): Promise<void> {
    const setting = this.settings[index];
    const base = target();
    if (!base || setting.writing) return;
    const value = !setting.value;
    setting.writing = true;
    setting.generation += 1;
    const answer = await timedFetch(`${base}/settings/${setting.name}`, {
      method: 'PUT',
      headers: ADMIN_HEADERS,
      body: JSON.stringify({ enabled: value }),
    });
    setting.writing = false;
    this.writes.record(answer);
    this.onAnswer?.(answer, 'write');
    if (answer.status === 200) {
      this.stale.writes += 1;
      setting.value = value;
      setting.ackedAt = Date.now();
    } else {
      // The write may or may not have landed: nothing is known until the next one answers.
      setting.ackedAt = undefined;
    }
  }

  /** Reads setting `index` through `target` and checks the answer. */
  async read(index: number, target: Target): Promise<void> {
    const setting = this.settings[index];
    const base = target();
    if (!base) return;
    const { generation, ackedAt, value } = setting;
    const quiet = !setting.writing && ackedAt !== undefined;
    const started = Date.now();
    const answer = await timedFetch(`${base}/settings/${setting.name}`, { headers: ADMIN_HEADERS });
    this.reads.record(answer);
    this.onAnswer?.(answer, 'read');
    if (answer.status !== 200 || !quiet || setting.generation !== generation || setting.writing) return;
    this.stale.checkedReads += 1;
    if ((answer.body as { enabled?: boolean }).enabled === value) return;
    const lateMs = started - ackedAt;
    this.stale.staleReads += 1;
    this.stale.worstStaleMs = Math.max(this.stale.worstStaleMs, lateMs);
    if (lateMs > this.boundMs) this.stale.staleBeyondBound += 1;
  }
}

// ---------------------------------------------------------------------------------------------
// The tally: what reached cursor-runner and Telegram, per update and per request.

/** Request ids as the service makes them (docs/cursor-runner.md, "Request ids"). */
const REQUEST_ID = /telegram-\d+-[0-9a-f]{8}/g;
/** What counts as "the user was told" for an update that was not forwarded. */
const TOLD = /interrupted|Failed to execute cursor command|encountered an error processing/i;

export interface Tally {
  updates: {
    sent: number;
    acknowledged: number;
    /** Never answered 200 within the sender's retry window (Telegram would keep trying). */
    notAcknowledged: number;
    forwardedOnce: number;
    forwardedTwiceOrMore: number;
    /** Acknowledged, not forwarded, and the chat was told (interrupted, or an error). */
    notForwardedUserTold: number;
    /** Acknowledged, neither forwarded nor told. */
    lost: number;
    /** Chats told that the request may have been interrupted (forwarded or not). */
    usersToldInterrupted: number;
    /** A few of the updates forwarded twice (with each forward: request id, member, time) and lost. */
    examples: { forwardedTwice: { updateId: number; prompt: string; forwards: Forward[] }[]; lost: SentUpdate[] };
  };
  callbacks: {
    sent: number;
    /** Answered 200 and neither "Request not found" nor "Already being delivered": the service took the result. */
    acknowledged: number;
    /** Answered 200 "Request not found": the pending request was gone. */
    notFound: number;
    /** Answered 200 "Already being delivered". */
    duplicate: number;
    /** Anything but 200 (503 with Redis down, 502 from the front when the member died). */
    refused: number;
    deliveredOnce: number;
    deliveredTwiceOrMore: number;
    /**
     * Of those, the ones whose first accepted message came from a member SIGKILLed within
     * {@link RESIDUAL_WINDOW_MS} after that call arrived (or just before: it was on its way): the documented residual window (Telegram
     * accepted the message, the process died before saving that it did). Any other is a defect.
     */
    deliveredTwiceSenderKilled: number;
    /** Acknowledged and never sent to the chat. */
    lost: number;
    lostRequestIds: string[];
    /**
     * A few request ids delivered twice, and of lost results the request id with every Telegram
     * call to its chat (text cut, answer status, which member sent it).
     */
    examples: {
      deliveredTwice: { requestId: string; chatCalls: ChatCall[] }[];
      lost: { requestId: string; chatCalls: ChatCall[] }[];
    };
  };
}

/** One Telegram call to a chat: text (cut), answer status, which member sent it, when it arrived. */
export interface ChatCall {
  text: string;
  answeredWith: number | undefined;
  via: string | undefined;
  at: number | undefined;
}

/** How one update ended, as the stand-ins saw it. */
export type UpdateOutcome = 'forwarded once' | 'forwarded twice or more' | 'not forwarded, user told' | 'lost' | 'never acknowledged';

/** What the fake Telegram accepted: messages naming each request id, and the chats told something. */
function readTelegram(fleet: Fleet) {
  const deliveries = new Map<string, number>();
  const toldChats = new Set<string>();
  const interruptedChats = new Set<string>();
  for (const call of fleet.telegram.calls('sendMessage')) {
    // Accepted only when answered ok: not a call answered 429, nor one whose process died before the answer.
    if (call.request.answeredWith !== 200) continue;
    const text = String(call.params.text);
    const chat = String(call.params.chat_id);
    for (const id of new Set(text.match(REQUEST_ID) ?? [])) deliveries.set(id, (deliveries.get(id) ?? 0) + 1);
    if (TOLD.test(text)) toldChats.add(chat);
    if (/interrupted/i.test(text)) interruptedChats.add(chat);
  }
  return { deliveries, toldChats, interruptedChats };
}

/** Each update sent and how it ended: forwards of its prompt at cursor-runner, messages to its chat. */
export function updateOutcomes(
  sender: UpdateSender,
  fleet: Fleet,
): { update: SentUpdate; outcome: UpdateOutcome; toldInterrupted: boolean; forwards: Forward[] }[] {
  const byPrompt = fleet.runner.forwardsByPrompt();
  const { toldChats, interruptedChats } = readTelegram(fleet);
  return sender.sent.map((update) => {
    const forwards = byPrompt.get(update.prompt) ?? [];
    const chat = String(update.chatId);
    let outcome: UpdateOutcome;
    if (forwards.length === 1) outcome = 'forwarded once';
    else if (forwards.length > 1) outcome = 'forwarded twice or more';
    else if (!update.acknowledged) outcome = 'never acknowledged';
    else if (toldChats.has(chat)) outcome = 'not forwarded, user told';
    else outcome = 'lost';
    return { update, outcome, toldInterrupted: interruptedChats.has(chat), forwards };
  });
}

/**
 * A duplicate counts as the residual window when the member that sent its first accepted message
 * was SIGKILLed at most this long after that call arrived (Telegram's answer delay included).
 */
const RESIDUAL_WINDOW_MS = 1_000;
/** A call sent just before its process was killed may be stamped as arriving a little after the kill. */
const ARRIVAL_SLACK_MS = 200;

/** How many examples of each defect the results keep, for whoever looks into it. */
const EXAMPLES = 10;

export function tally(sender: UpdateSender, fleet: Fleet): Tally {
  const runner = fleet.runner;
  const { deliveries } = readTelegram(fleet);
  const outcomes = updateOutcomes(sender, fleet);
  const count = (outcome: UpdateOutcome) => outcomes.filter((entry) => entry.outcome === outcome).length;
  const updates: Tally['updates'] = {
    sent: sender.sent.length,
    acknowledged: sender.sent.filter((update) => update.acknowledged).length,
    notAcknowledged: sender.sent.filter((update) => !update.acknowledged).length,
    forwardedOnce: count('forwarded once'),
    forwardedTwiceOrMore: count('forwarded twice or more'),
    notForwardedUserTold: count('not forwarded, user told'),
    lost: count('lost'),
    usersToldInterrupted: outcomes.filter((entry) => entry.toldInterrupted).length,
    examples: {
      forwardedTwice: outcomes
        .filter((entry) => entry.outcome === 'forwarded twice or more')
        .slice(0, EXAMPLES)
        .map(({ update, forwards }) => ({ updateId: update.updateId, prompt: update.prompt, forwards })),
      lost: outcomes
        .filter((entry) => entry.outcome === 'lost')
        .slice(0, EXAMPLES)
        .map(({ update }) => update),
    },
  };
  const callbacks: Tally['callbacks'] = {
    sent: runner.callbacks.length,
    acknowledged: 0,
    notFound: 0,
    duplicate: 0,
    refused: 0,
    deliveredOnce: 0,
    deliveredTwiceOrMore: 0,
    deliveredTwiceSenderKilled: 0,
    lost: 0,
    lostRequestIds: [],
    examples: { deliveredTwice: [], lost: [] },
  };
  const chatOfRequest = new Map<string, number>();
  const chatOfPrompt = new Map(sender.sent.map((update) => [update.prompt, update.chatId]));
  for (const forward of runner.forwards) chatOfRequest.set(forward.requestId, chatOfPrompt.get(forward.prompt) ?? 0);
  const requests = fleet.telegram.http.requests;
  const chatCallsOf = (requestId: string): ChatCall[] =>
    fleet.telegram
      .calls()
      .filter((call) => String(call.params.chat_id) === String(chatOfRequest.get(requestId)))
      .map((call) => ({
        text: (typeof call.params.text === 'string' ? call.params.text : call.method).slice(0, 120),
        answeredWith: call.request.answeredWith,
        via: call.via,
        at: fleet.telegramArrivalOf(requests.indexOf(call.request)),
      }));
  const acknowledgedIds = new Set<string>();
  for (const callback of runner.callbacks) {
    const message = callback.answer?.message;
    if (callback.status !== 200) callbacks.refused += 1;
    else if (message === 'Request not found') callbacks.notFound += 1;
    else if (message === 'Already being delivered') callbacks.duplicate += 1;
    else {
      callbacks.acknowledged += 1;
      acknowledgedIds.add(callback.requestId);
    }
  }
  for (const id of acknowledgedIds) {
    const count = deliveries.get(id) ?? 0;
    if (count === 1) callbacks.deliveredOnce += 1;
    else if (count > 1) {
      callbacks.deliveredTwiceOrMore += 1;
      const calls = chatCallsOf(id);
      const first = calls.find((call) => call.answeredWith === 200 && call.text.includes(id));
      const senderKilled = fleet.sigkills.some(
        (kill) =>
          first?.at !== undefined &&
          kill.member === first.via &&
          kill.at - first.at >= -ARRIVAL_SLACK_MS &&
          kill.at - first.at <= RESIDUAL_WINDOW_MS,
      );
      if (senderKilled) callbacks.deliveredTwiceSenderKilled += 1;
      if (callbacks.examples.deliveredTwice.length < EXAMPLES) callbacks.examples.deliveredTwice.push({ requestId: id, chatCalls: calls });
    } else {
      callbacks.lost += 1;
      callbacks.lostRequestIds.push(id);
      if (callbacks.examples.lost.length < EXAMPLES) callbacks.examples.lost.push({ requestId: id, chatCalls: chatCallsOf(id) });
    }
  }
  return { updates, callbacks };
}

/** What a drain still waited for when it ended. */
export interface DrainOutcome {
  ms: number;
  complete: boolean;
  /** Left when it ended: updates still being sent, queued jobs not finished, callbacks not answered. */
  left: { sending: number; jobs: number; callbacks: number };
}

/**
 * Waits until nothing is left to happen: every update sent (or given up), every queued job done
 * (a job held by a killed worker counts until its lock expires and another worker has run it),
 * every callback answered, and `settleMs` more with nothing new at cursor-runner or Telegram.
 * Gives up after `maxMs`.
 */
export async function drain(fleet: Fleet, sender: UpdateSender, maxMs: number, settleMs = 3_000): Promise<DrainOutcome> {
  const started = Date.now();
  let quietSince = Date.now();
  let seen = -1;
  let left = { sending: 0, jobs: 0, callbacks: 0 };
  while (Date.now() - started < maxMs) {
    const activity = fleet.runner.forwards.length + fleet.runner.callbacks.length + fleet.telegram.calls().length;
    if (activity !== seen) {
      seen = activity;
      quietSince = Date.now();
    }
    left = { sending: sender.inFlight, jobs: await fleet.pendingJobs().catch(() => -1), callbacks: fleet.runner.inFlight };
    if (left.sending !== 0 || left.jobs !== 0 || left.callbacks !== 0) quietSince = Date.now();
    else if (Date.now() - quietSince >= settleMs) return { ms: Date.now() - started, complete: true, left };
    await sleep(500);
  }
  return { ms: Date.now() - started, complete: false, left };
}

/** CPU seconds (user + system) a process has used so far, from /proc; 0 when unreadable. */
export function cpuSecondsOf(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** The machine's busy and total CPU time so far, from /proc/stat, in seconds. */
export function machineCpu(): { busy: number; total: number } {
  try {
    const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const total = fields.reduce((sum, value) => sum + value, 0) / 100;
    const idle = (fields[3] + (fields[4] ?? 0)) / 100;
    return { busy: total - idle, total };
  } catch {
    return { busy: 0, total: 0 };
  }
}
