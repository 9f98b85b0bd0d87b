import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Redis from 'ioredis';
import { FORWARD_INTERRUPTED_TEXT } from '../apps/api/src/conversation';
import { EXECUTE_ASYNC, startFakeCursorRunner } from '../test/support/fakes/cursor-runner-server';
import { FakeTelegram } from '../test/support/fakes/telegram-server';
import { AppProcess } from '../test/support/faults/app-process';
import { startFaultyRedis } from '../test/support/redis-server';
import { runBenchmark, writeBenchResults } from './bench-support';

/**
 * Forwarding at most once across a killed app, with the default queue settings
 * (QUEUE_LOCK_DURATION_MS 30 s, QUEUE_STALLED_INTERVAL_MS 5 s): per round, UPDATES webhook updates
 * for a cursor-runner that acknowledges in 1.5 s, the app killed once KILL_AFTER forwards have
 * reached cursor-runner, then started again at once. It counts how each update ended (forwarded
 * once, twice, its chat told, neither) and times the recovery: from the kill until the last update
 * cut short was settled (its chat told), and until every job had ended.
 */
const UPDATES = Number(process.env.FORWARD_BENCH_UPDATES ?? 50);
const KILL_AFTER = 10;
const ACKNOWLEDGE_DELAY_MS = 1_500;
const TOKEN = '828282:forward-bench-token';
const TELEGRAM_SECRET = 'forward-bench-telegram-secret';

interface Round {
  round: string;
  updates: number;
  forwardedOnce: number;
  forwardedTwice: number;
  told: number;
  lost: number;
  restartMs: number;
  lastToldAfterKillMs: number;
  allEndedAfterKillMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const redis = await startFaultyRedis();
  const commands = new Redis(redis.url);
  const telegram = await FakeTelegram.start(TOKEN);
  const cursorRunner = await startFakeCursorRunner({ acknowledgeDelayMs: ACKNOWLEDGE_DELAY_MS });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jarek-va-forward-bench-'));
  const prefix = `fwd-${randomUUID().slice(0, 8)}`;
  const env = {
    REDIS_URL: redis.url,
    CACHE_KEY_PREFIX: prefix,
    DATABASE_URL: `file:${path.join(dataDir, 'shared.sqlite3')}`,
    WEBHOOK_SECRET: 'forward-bench-webhook-secret',
    TELEGRAM_WEBHOOK_SECRET: TELEGRAM_SECRET,
    TELEGRAM_BOT_TOKEN: TOKEN,
    TELEGRAM_API_BASE_URL: telegram.url,
    CURSOR_RUNNER_URL: cursorRunner.url,
    LOG_LEVEL: 'warn',
  };
  const apps: AppProcess[] = [];
  const start = async (extra: Record<string, string> = {}) => {
    const app = await AppProcess.start({ env: { ...env, ...extra }, readyWithinMs: 120_000 });
    apps.push(app);
    return app;
  };
  const queue = `bull:${prefix}:telegram-updates`;
  const jobsEnded = async () => (await commands.zcard(`${queue}:completed`)) + (await commands.zcard(`${queue}:failed`));
  let updateId = Math.floor(Date.now() / 1000) * 10;

  const round = async (name: string, signal: NodeJS.Signals, firstEnv: Record<string, string>): Promise<Round> => {
    const endedBefore = await jobsEnded();
    const sent = Array.from({ length: UPDATES }, (_, i) => {
      const chatId = 900_000 + (updateId % 100_000);
      const text = `${name} task ${i} ${randomUUID().slice(0, 8)}`;
      const update = { update_id: ++updateId, message: { message_id: 10 + i, date: Math.floor(Date.now() / 1000), chat: { id: chatId, type: 'private' }, text } };
      return { update, chatId, prompt: text };
    });
    const forwardsOf = (prompt: string) =>
      cursorRunner.requestsTo(EXECUTE_ASYNC).filter((request) => (request.body as { prompt?: unknown }).prompt === prompt).length;
    const toldOf = (chatId: number) => telegram.messages(chatId).filter((message) => message.text === FORWARD_INTERRUPTED_TEXT).length;

    const first = await start(firstEnv);
    for (const { update } of sent) {
      await fetch(`${first.baseUrl}/telegram/webhook`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Telegram-Bot-Api-Secret-Token': TELEGRAM_SECRET },
        body: JSON.stringify(update),
      });
    }
    while (sent.filter(({ prompt }) => forwardsOf(prompt) > 0).length < KILL_AFTER) await sleep(5);
    const killedAt = Date.now();
    await first.kill(signal);
    await start();
    const restartMs = Date.now() - killedAt;
    const toldSoFar = () => sent.filter(({ chatId }) => toldOf(chatId) > 0).length;
    let told = toldSoFar();
    let lastToldAt = killedAt;
    while ((await jobsEnded()) < endedBefore + UPDATES) {
      if (toldSoFar() > told) [told, lastToldAt] = [toldSoFar(), Date.now()];
      await sleep(20);
    }
    if (toldSoFar() > told) lastToldAt = Date.now();
    const allEndedAfterKillMs = Date.now() - killedAt;
    const outcomes = sent.map(({ prompt, chatId }) => ({ forwards: forwardsOf(prompt), told: toldOf(chatId) }));
    await Promise.all(apps.splice(0).map((app) => app.kill('SIGKILL')));
    return {
      round: name,
      updates: UPDATES,
      forwardedOnce: outcomes.filter((o) => o.forwards === 1).length,
      forwardedTwice: outcomes.filter((o) => o.forwards > 1).length,
      told: outcomes.filter((o) => o.told > 0).length,
      lost: outcomes.filter((o) => o.forwards === 0 && o.told === 0).length,
      restartMs,
      lastToldAfterKillMs: lastToldAt - killedAt,
      allEndedAfterKillMs,
    };
  };

  const rounds: Round[] = [];
  try {
    rounds.push(await round('SIGKILL', 'SIGKILL', {}));
    rounds.push(await round('SIGTERM, SHUTDOWN_TIMEOUT_MS 1000', 'SIGTERM', { SHUTDOWN_TIMEOUT_MS: '1000' }));
  } finally {
    await Promise.all(apps.map((app) => app.kill('SIGKILL')));
    commands.disconnect();
    await cursorRunner.stop();
    await telegram.stop();
    await redis.stop();
  }

  console.log(
    `\nForwarding across a killed app: ${UPDATES} updates per round, cursor-runner acknowledging in ${ACKNOWLEDGE_DELAY_MS} ms, ` +
      `killed after ${KILL_AFTER} forwards, default QUEUE_LOCK_DURATION_MS / QUEUE_STALLED_INTERVAL_MS\n`,
  );
  console.log('| Round | Updates | Forwarded once | Forwarded twice | Chat told | Lost | Restart (ms) | Last chat told (ms after the kill) | All jobs ended (ms after the kill) |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of rounds) {
    console.log(
      `| ${r.round} | ${r.updates} | ${r.forwardedOnce} | ${r.forwardedTwice} | ${r.told} | ${r.lost} | ${r.restartMs} | ${r.lastToldAfterKillMs} | ${r.allEndedAfterKillMs} |`,
    );
  }
  const file = writeBenchResults('forward-recovery', { updates: UPDATES, killAfter: KILL_AFTER, acknowledgeDelayMs: ACKNOWLEDGE_DELAY_MS, rounds });
  console.log(`\nwritten to ${file}`);
}

runBenchmark(main);
