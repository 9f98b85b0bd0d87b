import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AppProcess } from '../test/support/faults/app-process';
import { FakeTelegram } from '../test/support/fakes/telegram-server';
import { startFaultyRedis, type FaultyRedis } from '../test/support/redis-server';
import { runBenchmark, writeBenchResults } from './bench-support';

/**
 * Faults under a steady load: three app processes on one Redis of this benchmark's own and one
 * SQLite file. Writes toggle a setting on one instance while the others read it; webhook updates
 * and callbacks keep arriving. On a schedule Redis is frozen (SIGSTOP), killed and restarted, and
 * one app instance is SIGKILLed and started again. Per phase it counts stale reads after a write
 * (a read that began after a write answered and still returned the old value) and requests answered
 * within their budget (REDIS_COMMAND_TIMEOUT_MS + 1 s).
 */
const INSTANCES = 3;
const PHASE_MS = Number(process.env.FAULTS_PHASE_MS ?? 6_000);
const COMMAND_TIMEOUT_MS = 1_000;
const BUDGET_MS = COMMAND_TIMEOUT_MS + 1_000;
const TOKEN = '888888:faults-bench-token';
const ADMIN = { 'X-Admin-Secret': 'bench-webhook-secret', 'content-type': 'application/json' };
const SETTING = 'bench_fault_flag';

interface PhaseStats {
  phase: string;
  reads: number;
  staleReads: number;
  worstStaleMs: number;
  writes: number;
  requests: number;
  withinBudget: number;
  answers: Record<string, number>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function timedFetch(url: string, init: RequestInit): Promise<{ status: number; body: unknown; ms: number }> {
  const started = Date.now();
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as unknown) : null, ms: Date.now() - started };
  } catch {
    return { status: 0, body: null, ms: Date.now() - started };
  }
}

async function main(): Promise<void> {
  const redis: FaultyRedis = await startFaultyRedis();
  const telegram = await FakeTelegram.start(TOKEN);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jarek-va-faults-'));
  const env = {
    REDIS_URL: redis.url,
    DATABASE_URL: `file:${path.join(dataDir, 'shared.sqlite3')}`,
    WEBHOOK_SECRET: 'bench-webhook-secret',
    TELEGRAM_WEBHOOK_SECRET: 'bench-telegram-secret',
    TELEGRAM_BOT_TOKEN: TOKEN,
    TELEGRAM_API_BASE_URL: telegram.url,
    LOG_LEVEL: 'warn',
    CACHE_BREAKER_COOLDOWN_MS: '1000',
  };
  const apps: AppProcess[] = [];
  const start = () => AppProcess.start({ env, readyWithinMs: 120_000 });
  try {
    for (let i = 0; i < INSTANCES; i += 1) apps.push(await start());
    await run(apps, redis, start);
  } finally {
    await Promise.all(apps.map((app) => app.kill('SIGKILL')));
    await telegram.stop();
    await redis.stop();
  }
}

async function run(apps: AppProcess[], redis: FaultyRedis, start: () => Promise<AppProcess>): Promise<void> {

  let stats: PhaseStats = newPhase('warm-up');
  const phases: PhaseStats[] = [];
  let running = true;
  let updateId = Math.floor(Date.now() / 1000) * 100;
  /** The last write that answered 200, and whether another is under way (then either value is right). */
  let acked: { value: boolean; at: number } | undefined;
  let writing = false;
  let value = false;
  const live = () => apps.filter((app) => app.running);

  function newPhase(phase: string): PhaseStats {
    return { phase, reads: 0, staleReads: 0, worstStaleMs: 0, writes: 0, requests: 0, withinBudget: 0, answers: {} };
  }
  function count(answer: { status: number; ms: number }, kind: string): void {
    stats.requests += 1;
    if (answer.ms <= BUDGET_MS) stats.withinBudget += 1;
    const label = `${kind} ${answer.status}`;
    stats.answers[label] = (stats.answers[label] ?? 0) + 1;
  }

  const writer = (async () => {
    while (running) {
      const target = apps[0];
      if (target.running) {
        value = !value;
        writing = true;
        const answer = await timedFetch(`${target.baseUrl}/settings/${SETTING}`, {
          method: 'PUT',
          headers: ADMIN,
          body: JSON.stringify({ enabled: value }),
        });
        writing = false;
        count(answer, 'PUT /settings');
        if (answer.status === 200) {
          stats.writes += 1;
          acked = { value, at: Date.now() };
        } else value = !value;
      }
      await sleep(400);
    }
  })();
  const readers = apps.slice(1).map((_, index) =>
    (async () => {
      while (running) {
        const target = apps[index + 1];
        if (target.running) {
          const before = acked;
          const inFlight = writing;
          const started = Date.now();
          const answer = await timedFetch(`${target.baseUrl}/settings/${SETTING}`, { headers: ADMIN });
          if (answer.status === 200 && before && !inFlight && !writing && acked === before) {
            stats.reads += 1;
            if ((answer.body as { enabled: boolean }).enabled !== before.value) {
              stats.staleReads += 1;
              stats.worstStaleMs = Math.max(stats.worstStaleMs, started - before.at);
            }
          }
        }
        await sleep(20);
      }
    })(),
  );
  const traffic = (async () => {
    while (running) {
      const targets = live();
      const target = targets[updateId % targets.length];
      updateId += 1;
      const update = {
        update_id: updateId,
        message: { message_id: updateId, date: Math.floor(Date.now() / 1000), chat: { id: 4242, type: 'private' }, text: '/start' },
      };
      count(
        await timedFetch(`${target.baseUrl}/telegram/webhook`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'X-Telegram-Bot-Api-Secret-Token': 'bench-telegram-secret' },
          body: JSON.stringify(update),
        }),
        'webhook',
      );
      count(
        await timedFetch(`${target.baseUrl}/cursor-runner/callback`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'X-Webhook-Secret': 'bench-webhook-secret' },
          body: JSON.stringify({ request_id: `telegram-${updateId}-bench`, success: true, output: 'done' }),
        }),
        'callback',
      );
      await sleep(100);
    }
  })();

  const phase = async (name: string, fault: () => Promise<void> | void, recover: () => Promise<void> | void) => {
    stats = newPhase(name);
    phases.push(stats);
    await fault();
    await sleep(PHASE_MS / 2);
    await recover();
    await sleep(PHASE_MS / 2);
  };
  await sleep(1_000);
  await phase('steady', () => undefined, () => undefined);
  await phase('Redis frozen (SIGSTOP) 3 s', () => redis.freeze(), () => redis.thaw());
  await phase('Redis killed, restarted', () => redis.kill(), () => redis.restart());
  await phase(
    'one reader instance SIGKILLed, restarted',
    () => apps[2].kill('SIGKILL').then(() => undefined),
    async () => {
      apps[2] = await start();
    },
  );
  running = false;
  await Promise.all([writer, traffic, ...readers]);

  console.log(`\nFaults under load: ${INSTANCES} app processes, one Redis, one SQLite file; phase ${PHASE_MS} ms; budget ${BUDGET_MS} ms\n`);
  console.log('| Phase | Reads after a write | Stale reads | Worst stale (ms after the write answered) | Requests | Within budget | Answers |');
  console.log('|---|---|---|---|---|---|---|');
  for (const p of phases) {
    const answers = Object.entries(p.answers).map(([label, n]) => `${label}: ${n}`).join(', ');
    console.log(`| ${p.phase} | ${p.reads} | ${p.staleReads} | ${p.worstStaleMs} | ${p.requests} | ${p.withinBudget} | ${answers} |`);
  }
  const file = writeBenchResults('faults', { instances: INSTANCES, phaseMs: PHASE_MS, budgetMs: BUDGET_MS, phases });
  console.log(`\nwritten to ${file}`);
}

runBenchmark(main);
