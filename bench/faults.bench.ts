import { runBenchmark, writeBenchResults } from './bench-support';
import {
  drain,
  envMs,
  Fleet,
  newStaleStats,
  SettingsProbe,
  sleep,
  tally,
  updateOutcomes,
  UpdateSender,
  type Answer,
  type StaleStats,
  type Tally,
} from './fleet-support';

/**
 * Faults under a steady load (issue 13): three app processes (`APP_ROLE=all`, the built app) on one
 * Redis of this benchmark's own and one SQLite file. One instance toggles a setting while the
 * other two read it; webhook updates (each with its own prompt and chat) arrive through a
 * round-robin front and are forwarded to a cursor-runner stand-in, which calls back through the
 * front. On a schedule Redis is frozen (SIGSTOP), killed and restarted, and one app instance is
 * SIGKILLed (at the first moment it is forwarding, then waiting to retry a throttled send) and
 * started again, twice. Per phase: stale reads after a write and requests answered within
 * their budget (REDIS_COMMAND_TIMEOUT_MS + 1 s). Over the whole run, after a drain: updates sent /
 * forwarded once / twice / lost / users told, callbacks acknowledged / delivered once / lost.
 */
const INSTANCES = 3;
const PHASE_MS = envMs('FAULTS_PHASE_MS', 6_000);
const DRAIN_MAX_MS = envMs('FAULTS_DRAIN_MAX_MS', 100_000);
const UPDATES_PER_S = envMs('FAULTS_UPDATES_PER_S', 8);
const RUNNER_MS = envMs('FAULTS_RUNNER_MS', 1_000);
const TELEGRAM_MS = envMs('FAULTS_TELEGRAM_MS', 100);
/** One sendMessage in this many is throttled (429, retry after 1 s); 0 = never. */
const TELEGRAM_429_EVERY = Number(process.env.FAULTS_TELEGRAM_429_EVERY ?? 10);
/** `off`: the benchmark's Redis keeps nothing on disk, so its restart empties the queue (counted apart). */
const REDIS_APPEND_ONLY = (process.env.FAULTS_REDIS_AOF ?? 'always') !== 'off';
const COMMAND_TIMEOUT_MS = 1_000;
const BUDGET_MS = COMMAND_TIMEOUT_MS + 1_000;
/** docs/caching.md, "Cross-instance invalidation": no instance answers the old value for more than 2 s. */
const STALE_BOUND_MS = 2_000;
const SETTING = 'bench_fault_flag';

interface PhaseStats extends StaleStats {
  phase: string;
  startedAt: number;
  endedAt: number;
  requests: number;
  withinBudget: number;
  answers: Record<string, number>;
  /** How the updates first sent in this phase ended. */
  updates: Record<string, number>;
}

interface RequestEvent {
  kind: string;
  startedAt: number;
  ms: number;
  status: number;
}

async function main(): Promise<void> {
  const fleet = await Fleet.start({
    apis: 0,
    workers: 0,
    all: INSTANCES,
    runnerAnswerMs: RUNNER_MS,
    runnerRunMs: RUNNER_MS,
    telegramMs: TELEGRAM_MS,
    telegram429Every: TELEGRAM_429_EVERY,
    redisAppendOnly: REDIS_APPEND_ONLY,
    env: { CACHE_BREAKER_COOLDOWN_MS: '1000', REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS) },
  });
  try {
    await run(fleet);
  } finally {
    if (process.env.FLEET_LOG_DIR) fleet.writeLogs(process.env.FLEET_LOG_DIR);
    await fleet.stop();
  }
}

async function run(fleet: Fleet): Promise<void> {
  const [writerInstance, ...readerInstances] = fleet.members;
  const events: RequestEvent[] = [];
  const record = (kind: string) => (answer: Answer) =>
    events.push({ kind, startedAt: Date.now() - answer.ms, ms: answer.ms, status: answer.status });
  const sender = new UpdateSender(() => fleet.front.url, `faults-${Date.now().toString(36)}`);
  sender.onAnswer = record('webhook');
  const probe = new SettingsProbe([SETTING], STALE_BOUND_MS);
  probe.onAnswer = (answer, kind) => record(kind === 'write' ? 'PUT /settings' : 'GET /settings')(answer);
  const phases: PhaseStats[] = [];
  let running = true;

  const writer = (async () => {
    while (running) {
      await probe.write(0, () => writerInstance.baseUrl());
      await sleep(400);
    }
  })();
  const readers = readerInstances.map((instance) =>
    (async () => {
      while (running) {
        await probe.read(0, () => instance.baseUrl());
        await sleep(20);
      }
    })(),
  );
  const updates = setInterval(() => sender.send(), 1_000 / UPDATES_PER_S);

  const phase = async (name: string, fault: () => Promise<void> | void, recover: () => Promise<void> | void) => {
    probe.stale = newStaleStats();
    const stats: PhaseStats = {
      phase: name,
      startedAt: Date.now(),
      endedAt: 0,
      requests: 0,
      withinBudget: 0,
      answers: {},
      updates: {},
      ...probe.stale,
    };
    phases.push(stats);
    await fault();
    await sleep(PHASE_MS / 2);
    await recover();
    await sleep(PHASE_MS / 2);
    Object.assign(stats, probe.stale, { endedAt: Date.now() });
  };
  await sleep(1_000);
  await phase('steady', () => undefined, () => undefined);
  await phase(`Redis frozen (SIGSTOP) ${PHASE_MS / 2_000} s`, () => fleet.redis.freeze(), () => fleet.redis.thaw());
  let redisKilledAt = 0;
  await phase(
    'Redis killed, restarted',
    () => {
      redisKilledAt = Date.now();
      return fleet.redis.kill();
    },
    () => fleet.redis.restart(),
  );
  const victim = readerInstances[1];
  const killedMidWork: Record<string, boolean> = {};
  for (const [aimedAt, doing] of [
    ['forward', 'forwarding'],
    ['retry', 'waiting to retry a throttled send'],
  ] as const) {
    await phase(
      `one instance SIGKILLed while ${doing}, restarted`,
      async () => {
        killedMidWork[aimedAt] = (await fleet.killMidWork(victim, aimedAt)).midWork;
      },
      () => fleet.startMember(victim),
    );
  }
  running = false;
  clearInterval(updates);
  await Promise.all([writer, ...readers]);
  const drained = await drain(fleet, sender, DRAIN_MAX_MS);
  for (const callback of fleet.runner.callbacks) {
    events.push({ kind: 'callback', startedAt: callback.startedAt, ms: callback.ms, status: callback.status });
  }
  const outcomes = updateOutcomes(sender, fleet);
  for (const stats of phases) {
    for (const { update, outcome } of outcomes) {
      if (update.firstSentAt < stats.startedAt || update.firstSentAt >= stats.endedAt) continue;
      stats.updates[outcome] = (stats.updates[outcome] ?? 0) + 1;
    }
    for (const event of events) {
      if (event.startedAt < stats.startedAt || event.startedAt >= stats.endedAt) continue;
      stats.requests += 1;
      if (event.ms <= BUDGET_MS) stats.withinBudget += 1;
      const label = `${event.kind} ${event.status}`;
      stats.answers[label] = (stats.answers[label] ?? 0) + 1;
    }
  }
  // The benchmark's redis-server keeps nothing on disk: a restart empties the queue.
  const lostInRedisRestart = outcomes.filter(
    ({ update, outcome }) => outcome === 'lost' && update.acknowledgedAt !== undefined && update.acknowledgedAt < redisKilledAt,
  ).length;
  const counts = tally(sender, fleet);
  const acknowledgedAt = new Map(fleet.runner.callbacks.map((callback) => [callback.requestId, callback.startedAt + callback.ms]));
  const resultsLostInRedisRestart = counts.callbacks.lostRequestIds.filter(
    (requestId) => (acknowledgedAt.get(requestId) ?? Infinity) < redisKilledAt,
  ).length;
  report(phases, counts, drained, {
    frontErrors: fleet.front.frontErrors,
    killedMidWork,
    telegramThrottled: fleet.throttledCalls,
    lostInRedisRestart,
    resultsLostInRedisRestart,
  });
}

function report(
  phases: PhaseStats[],
  counts: Tally,
  drained: Awaited<ReturnType<typeof drain>>,
  notes: {
    frontErrors: number;
    killedMidWork: Record<string, boolean>;
    telegramThrottled: number;
    lostInRedisRestart: number;
    resultsLostInRedisRestart: number;
  },
): void {
  const { frontErrors, killedMidWork, telegramThrottled, lostInRedisRestart, resultsLostInRedisRestart } = notes;
  console.log(
    `\nFaults under load: ${INSTANCES} app processes (built app, APP_ROLE=all), one Redis (${REDIS_APPEND_ONLY ? 'appendonly, appendfsync always' : 'nothing on disk'}), one SQLite file; phase ${PHASE_MS} ms; ` +
      `budget ${BUDGET_MS} ms; ${UPDATES_PER_S} updates/s; cursor-runner stand-in ${RUNNER_MS} ms, Telegram ${TELEGRAM_MS} ms (1 sendMessage in ${TELEGRAM_429_EVERY} throttled); drain ${Math.round(drained.ms / 1000)} s` +
      `${drained.complete ? '' : ` (gave up with work left: ${JSON.stringify(drained.left)})`}\n`,
  );
  console.log('| Phase | Reads after a write | Stale reads | Beyond the 2 s bound | Worst stale (ms after the write answered) | Requests | Within budget | Answers |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const p of phases) {
    const answers = Object.entries(p.answers)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([label, n]) => `${label}: ${n}`)
      .join(', ');
    console.log(
      `| ${p.phase} | ${p.checkedReads} | ${p.staleReads} | ${p.staleBeyondBound} | ${p.worstStaleMs} | ${p.requests} | ${p.withinBudget} | ${answers} |`,
    );
  }
  console.log('\n| Phase (updates first sent in it) | How they ended |');
  console.log('|---|---|');
  for (const p of phases) {
    const ended = Object.entries(p.updates)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([outcome, n]) => `${outcome}: ${n}`)
      .join(', ');
    console.log(`| ${p.phase} | ${ended} |`);
  }
  const { updates, callbacks } = counts;
  console.log('\n| Updates sent | acknowledged | forwarded once | forwarded twice+ | not forwarded, user told | lost | told "interrupted" |');
  console.log('|---|---|---|---|---|---|---|');
  console.log(
    `| ${updates.sent} | ${updates.acknowledged} | ${updates.forwardedOnce} | ${updates.forwardedTwiceOrMore} | ` +
      `${updates.notForwardedUserTold} | ${updates.lost} | ${updates.usersToldInterrupted} |`,
  );
  console.log('\n| Callbacks sent | acknowledged | not found | refused (non-200) | delivered once | delivered twice+ | lost |');
  console.log('|---|---|---|---|---|---|---|');
  console.log(
    `| ${callbacks.sent} | ${callbacks.acknowledged} | ${callbacks.notFound} | ${callbacks.refused} | ` +
      `${callbacks.deliveredOnce} | ${callbacks.deliveredTwiceOrMore} | ${callbacks.lost} |`,
  );
  console.log(
    `\nOf the lost updates, acknowledged before Redis was killed (${REDIS_APPEND_ONLY ? 'this redis-server keeps every write on disk, so its restart should lose none' : 'a restart of this redis-server, which keeps nothing on disk, empties the queue'}): ${lostInRedisRestart}`,
  );
  console.log(`Of the lost results, acknowledged before Redis was killed: ${resultsLostInRedisRestart}`);
  console.log(
    `Of the results delivered twice, the first sender SIGKILLed ≤ 1 s after its send (the residual window): ${callbacks.deliveredTwiceSenderKilled}`,
  );
  console.log(
    `The SIGKILLed instance died in the middle of what it was aimed at: ${Object.entries(killedMidWork)
      .map(([aimedAt, found]) => `${aimedAt} ${found ? 'yes' : 'no'}`)
      .join(', ')}`,
  );
  console.log(`502 from the front (member died mid-request, or none up): ${frontErrors}`);
  console.log(`sendMessage calls the fake Telegram throttled (429, retry after 1 s): ${telegramThrottled}`);
  const file = writeBenchResults('faults', {
    instances: INSTANCES,
    phaseMs: PHASE_MS,
    budgetMs: BUDGET_MS,
    staleBoundMs: STALE_BOUND_MS,
    updatesPerS: UPDATES_PER_S,
    runnerMs: RUNNER_MS,
    telegramMs: TELEGRAM_MS,
    telegram429Every: TELEGRAM_429_EVERY,
    redisAppendOnly: REDIS_APPEND_ONLY,
    drain: drained,
    phases,
    updates,
    callbacks,
    ...notes,
  });
  console.log(`\nwritten to ${file}`);
}

runBenchmark(main);
