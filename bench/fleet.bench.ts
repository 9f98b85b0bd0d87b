import { Queue } from 'bullmq';
import { runBenchmark, writeBenchResults } from './bench-support';
import {
  cpuSecondsOf,
  drain,
  envMs,
  Fleet,
  machineCpu,
  SettingsProbe,
  sleep,
  tally,
  UpdateSender,
  type FleetMember,
  type MidWork,
} from './fleet-support';

/**
 * A fleet soak (issue 19): 3 API instances and 2 workers of the built app on one Redis of this
 * benchmark's own and one SQLite file, behind a round-robin front. Webhook updates (each with its
 * own prompt and chat), the callbacks the cursor-runner stand-in sends 50 ms after acknowledging,
 * cached reads and writes of settings arrive throughout; one API instance and one worker are
 * SIGKILLed three times each (at the first moment after their time when they are in the middle of
 * a forward, a Telegram send, a throttled send's wait or a callback) and started again. Then, on the same fleet, update throughput with one
 * worker against two. Prints a table and writes bench/results/fleet.json.
 */
const LOAD_MS = envMs('FLEET_LOAD_MS', 60_000);
const DRAIN_MAX_MS = envMs('FLEET_DRAIN_MAX_MS', 100_000);
const UPDATES_PER_S = envMs('FLEET_UPDATES_PER_S', 20);
const READS_PER_S = envMs('FLEET_READS_PER_S', 60);
const WRITE_INTERVAL_MS = envMs('FLEET_WRITE_INTERVAL_MS', 3_000);
const RUNNER_MS = envMs('FLEET_RUNNER_MS', 50);
const TELEGRAM_MS = envMs('FLEET_TELEGRAM_MS', 100);
/** One sendMessage in this many is throttled (429, retry after 1 s); 0 = never. */
const TELEGRAM_429_EVERY = Number(process.env.FLEET_TELEGRAM_429_EVERY ?? 10);
const THROUGHPUT_UPDATES = envMs('FLEET_THROUGHPUT_UPDATES', 400);
const THROUGHPUT_ROUNDS = envMs('FLEET_THROUGHPUT_ROUNDS', 2);
const QUEUE_CONCURRENCY = process.env.FLEET_QUEUE_CONCURRENCY;
/** docs/caching.md, "Cross-instance invalidation": no instance answers the old value for more than 2 s. */
const STALE_BOUND_MS = 2_000;
const SETTINGS = ['bench_fleet_a', 'bench_fleet_b', 'bench_fleet_c'];
const MAX_READS_IN_FLIGHT = 64;

interface KillEvent {
  member: string;
  role: string;
  /** What it was to be in the middle of. */
  aimedAt: MidWork;
  atMs: number;
  /** When it was killed (epoch ms), to set beside the Telegram calls' arrival times. */
  at: number;
  /** Whether it died in the middle of a forward, a delivery or a callback (else at the end of the wait for one). */
  midWork: boolean;
  /** From the SIGKILL to the new process answering /health/live. */
  backAfterMs: number;
}

async function main(): Promise<void> {
  const fleet = await Fleet.start({
    apis: 3,
    workers: 2,
    runnerAnswerMs: RUNNER_MS,
    runnerRunMs: RUNNER_MS,
    telegramMs: TELEGRAM_MS,
    telegram429Every: TELEGRAM_429_EVERY,
    env: QUEUE_CONCURRENCY ? { QUEUE_CONCURRENCY } : {},
  });
  try {
    const soakResults = await soak(fleet);
    const throughput = await throughputPhase(fleet);
    report(soakResults, throughput);
  } finally {
    if (process.env.FLEET_LOG_DIR) fleet.writeLogs(process.env.FLEET_LOG_DIR);
    await fleet.stop();
  }
}

async function soak(fleet: Fleet) {
  const tag = `soak-${Date.now().toString(36)}`;
  const sender = new UpdateSender(() => fleet.front.url, tag);
  const probe = new SettingsProbe(SETTINGS, STALE_BOUND_MS);
  const kills: KillEvent[] = [];
  const started = Date.now();
  const benchCpuBefore = process.cpuUsage();
  let running = true;
  let readsInFlight = 0;
  let readIndex = 0;
  const front = () => fleet.front.url;

  const updates = setInterval(() => sender.send(), 1_000 / UPDATES_PER_S);
  const reads = setInterval(() => {
    if (readsInFlight >= MAX_READS_IN_FLIGHT) return;
    readsInFlight += 1;
    void probe.read(readIndex++ % SETTINGS.length, front).finally(() => (readsInFlight -= 1));
  }, 1_000 / READS_PER_S);
  const writers = SETTINGS.map((_, index) =>
    (async () => {
      await sleep((WRITE_INTERVAL_MS / SETTINGS.length) * index);
      while (running) {
        const began = Date.now();
        await probe.write(index, front);
        await sleep(Math.max(0, WRITE_INTERVAL_MS - (Date.now() - began)));
      }
    })(),
  );
  const killAndRestart = async (member: FleetMember, atFraction: number, aimedAt: MidWork) => {
    await sleep(Math.max(0, started + LOAD_MS * atFraction - Date.now()));
    const { midWork } = await fleet.killMidWork(member, aimedAt);
    const at = Date.now();
    await fleet.startMember(member);
    kills.push({ member: member.name, role: member.role, aimedAt, atMs: at - started, at, midWork, backAfterMs: Date.now() - at });
  };
  // One API instance and one worker, each killed three times, each time in the middle of another
  // kind of work: where today's code or a fix could lose or repeat something.
  const schedule = (async () => {
    for (const [member, atFraction, aimedAt] of [
      [fleet.apis[1], 0.2, 'retry'],
      [fleet.workers[1], 0.3, 'forward'],
      [fleet.apis[1], 0.45, 'callback'],
      [fleet.workers[1], 0.55, 'retry'],
      [fleet.apis[1], 0.7, 'send'],
      [fleet.workers[1], 0.8, 'send'],
    ] as const) {
      await killAndRestart(member, atFraction, aimedAt);
    }
  })();

  await sleep(LOAD_MS);
  running = false;
  clearInterval(updates);
  clearInterval(reads);
  const loadMs = Date.now() - started;
  const benchCpu = process.cpuUsage(benchCpuBefore);
  await Promise.all([schedule, ...writers]);
  while (readsInFlight > 0) await sleep(50);
  const drained = await drain(fleet, sender, DRAIN_MAX_MS);
  const counts = tally(sender, fleet);
  const forwardsInLoad = fleet.runner.forwards.filter((forward) => forward.at - started <= loadMs).length;
  return {
    loadMs,
    drain: drained,
    kills,
    counts,
    throughput: {
      updatesAcknowledgedPerS: round(counts.updates.acknowledged / (loadMs / 1000)),
      updatesForwardedPerS: round(forwardsInLoad / (loadMs / 1000)),
      cachedReadsPerS: round(probe.reads.count / (loadMs / 1000)),
    },
    webhook: sender.stats.summary(),
    cachedRead: probe.reads.summary(),
    write: probe.writes.summary(),
    stale: { boundMs: STALE_BOUND_MS, ...probe.stale },
    frontErrors: fleet.front.frontErrors,
    telegramThrottled: fleet.throttledCalls,
    /** The benchmark process (load, front, stand-ins) during the load, in cores. */
    benchProcessCores: round((benchCpu.user + benchCpu.system) / 1_000 / loadMs),
  };
}

interface ThroughputRound {
  workers: number;
  round: number;
  updates: number;
  forwarded: number;
  seconds: number;
  updatesPerS: number;
  /** Share of the machine's CPU (all cores, every process on it) busy during the round, 0–1. */
  machineBusy: number;
  /** CPU of the fleet's processes (members, Redis) and of this benchmark process during the round, in cores. */
  fleetCores: number;
  benchCores: number;
  /** CPU of each running worker during the round, in cores (1 = one core all the time). */
  workerCores: number[];
}

/**
 * Update throughput with one worker against two, on the same fleet. The queue is paused, the
 * updates are queued through the front (the webhook path), then the queue is resumed: the time
 * from the resume to the last forward at cursor-runner is the workers' alone. The stand-in
 * acknowledges each run after 50 ms and sends no callback, so a job's time is mostly that wait
 * (I/O, not CPU) and the round measures what more workers can add.
 */
async function throughputPhase(fleet: Fleet): Promise<{ rounds: ThroughputRound[]; ratio: number }> {
  fleet.runner.callsBack = false;
  const url = new URL(fleet.redis.url);
  const queue = new Queue('telegram-updates', {
    connection: { host: url.hostname, port: Number(url.port) },
    prefix: fleet.queuePrefix,
  });
  const rounds: ThroughputRound[] = [];
  try {
    // The order alternates so neither count always runs on a machine warmed (or loaded) by the other.
    for (let round = 1; round <= THROUGHPUT_ROUNDS; round += 1) {
      for (const workers of round % 2 === 1 ? [1, 2] : [2, 1]) rounds.push(await throughputRound(fleet, queue, workers, round));
    }
  } finally {
    await queue.resume().catch(() => undefined);
    await queue.close();
  }
  const mean = (workers: number) => {
    const of = rounds.filter((entry) => entry.workers === workers);
    return of.reduce((sum, entry) => sum + entry.updatesPerS, 0) / of.length;
  };
  return { rounds, ratio: round(mean(2) / mean(1)) };
}

async function throughputRound(fleet: Fleet, queue: Queue, workers: number, roundNumber: number): Promise<ThroughputRound> {
  await queue.pause();
  for (const [index, worker] of fleet.workers.entries()) {
    if (index < workers && !worker.running) await fleet.startMember(worker);
    if (index >= workers && worker.running) await fleet.stopMember(worker, 'SIGTERM');
  }
  // A worker answers /health/live a moment before its queue consumer has connected.
  await sleep(1_000);
  const sender = new UpdateSender(() => fleet.front.url, `tp-${workers}w-${roundNumber}-${Date.now().toString(36)}`, 30_000);
  for (let i = 0; i < THROUGHPUT_UPDATES; i += 1) {
    sender.send('message');
    if (sender.inFlight >= 32) await sleep(5);
  }
  await sender.settled();
  const acknowledged = sender.sent.filter((update) => update.acknowledged).length;
  const prompts = new Set(sender.sent.map((update) => update.prompt));
  for (let waited = 0; waited < 30_000; waited += 100) {
    const counts = await queue.getJobCounts('wait', 'paused', 'prioritized');
    if (counts.wait + counts.paused + counts.prioritized >= acknowledged) break;
    await sleep(100);
  }
  const running = fleet.workers.filter((worker) => worker.running);
  const cpuBefore = running.map((worker) => cpuSecondsOf(worker.app?.pid));
  const machineBefore = machineCpu();
  const fleetBefore = fleet.cpuSeconds();
  const benchBefore = process.cpuUsage();
  const forwardsBefore = fleet.runner.forwards.length;
  const resumedAt = Date.now();
  await queue.resume();
  const ofRound = () => fleet.runner.forwards.slice(forwardsBefore).filter((forward) => prompts.has(forward.prompt));
  while (ofRound().length < acknowledged && Date.now() - resumedAt < 120_000) await sleep(20);
  const forwards = ofRound();
  const lastAt = forwards.length ? Math.max(...forwards.map((forward) => forward.at)) : Date.now();
  const seconds = (lastAt - resumedAt) / 1000;
  const machineAfter = machineCpu();
  const fleetSeconds = fleet.cpuSeconds() - fleetBefore;
  const bench = process.cpuUsage(benchBefore);
  return {
    workers,
    round: roundNumber,
    updates: acknowledged,
    forwarded: forwards.length,
    seconds: round(seconds),
    updatesPerS: round(forwards.length / seconds),
    machineBusy: round((machineAfter.busy - machineBefore.busy) / Math.max(0.001, machineAfter.total - machineBefore.total)),
    fleetCores: round(fleetSeconds / seconds),
    benchCores: round((bench.user + bench.system) / 1e6 / seconds),
    workerCores: running.map((worker, index) => round((cpuSecondsOf(worker.app?.pid) - cpuBefore[index]) / seconds)),
  };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

type SoakResults = Awaited<ReturnType<typeof soak>>;

function report(soak: SoakResults, throughput: { rounds: ThroughputRound[]; ratio: number }): void {
  const { updates, callbacks } = soak.counts;
  console.log(
    `\nFleet soak: 3 API + 2 workers (built app), one Redis, one SQLite file; load ${Math.round(soak.loadMs / 1000)} s at ` +
      `${UPDATES_PER_S} updates/s and ${READS_PER_S} cached reads/s, writes every ${WRITE_INTERVAL_MS} ms per setting; ` +
      `cursor-runner stand-in ${RUNNER_MS} ms, Telegram ${TELEGRAM_MS} ms (1 sendMessage in ${TELEGRAM_429_EVERY} throttled); drain ${Math.round(soak.drain.ms / 1000)} s${soak.drain.complete ? '' : ` (gave up with work left: ${JSON.stringify(soak.drain.left)})`}\n`,
  );
  console.log('| Kill (SIGKILL) | at (s into the load) | aimed at | found mid-work | back after (ms) |');
  console.log('|---|---|---|---|---|');
  for (const kill of soak.kills) {
    console.log(
      `| ${kill.member} (${kill.role}) | ${round(kill.atMs / 1000)} | ${kill.aimedAt} | ${kill.midWork ? 'yes' : 'no'} | ${kill.backAfterMs} |`,
    );
  }
  console.log('\n| Measure | Value |');
  console.log('|---|---|');
  const rows: [string, unknown][] = [
    ['updates acknowledged / s', soak.throughput.updatesAcknowledgedPerS],
    ['updates forwarded / s', soak.throughput.updatesForwardedPerS],
    ['cached reads / s', soak.throughput.cachedReadsPerS],
    ['webhook acknowledgement p50 / p99 (ms)', `${fmt(soak.webhook.p50Ms)} / ${fmt(soak.webhook.p99Ms)}`],
    ['cached read p50 / p99 (ms)', `${fmt(soak.cachedRead.p50Ms)} / ${fmt(soak.cachedRead.p99Ms)}`],
    ['updates sent / acknowledged / never acknowledged', `${updates.sent} / ${updates.acknowledged} / ${updates.notAcknowledged}`],
    ['updates forwarded once', updates.forwardedOnce],
    ['updates forwarded twice or more', updates.forwardedTwiceOrMore],
    ['updates not forwarded, user told', updates.notForwardedUserTold],
    ['updates lost (neither forwarded nor told)', updates.lost],
    ['users told "may have been interrupted"', updates.usersToldInterrupted],
    ['callbacks sent / acknowledged / not found / refused', `${callbacks.sent} / ${callbacks.acknowledged} / ${callbacks.notFound} / ${callbacks.refused}`],
    ['results delivered once', callbacks.deliveredOnce],
    ['results delivered twice or more', callbacks.deliveredTwiceOrMore],
    ['… of which the first sender was SIGKILLed ≤ 1 s after its send (residual window)', callbacks.deliveredTwiceSenderKilled],
    ['results lost (acknowledged, never delivered)', callbacks.lost],
    ['reads checked after a write / stale / beyond the 2 s bound', `${soak.stale.checkedReads} / ${soak.stale.staleReads} / ${soak.stale.staleBeyondBound}`],
    ['worst stale read (ms after the write answered)', soak.stale.worstStaleMs],
    ['5xx from the app: webhook / cached read / write', `${soak.webhook.appErrors5xx} / ${soak.cachedRead.appErrors5xx} / ${soak.write.appErrors5xx}`],
    ['502 from the front (member died mid-request, or none up)', soak.frontErrors],
    ['sendMessage calls the fake Telegram throttled (429, retry after 1 s)', soak.telegramThrottled],
    ['CPU of the benchmark process itself (load, front, stand-ins), cores', soak.benchProcessCores],
  ];
  for (const [name, value] of rows) console.log(`| ${name} | ${String(value)} |`);

  console.log(`\nUpdate throughput, ${THROUGHPUT_UPDATES} queued updates drained by 1 or 2 workers (stand-in ${RUNNER_MS} ms, no callbacks)\n`);
  console.log('| Workers | Round | Forwarded | Seconds | Updates/s | Worker CPU (cores) | Fleet + Redis CPU (cores) | Bench process CPU (cores) | Machine CPU busy (all processes) |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const entry of throughput.rounds) {
    console.log(
      `| ${entry.workers} | ${entry.round} | ${entry.forwarded}/${entry.updates} | ${entry.seconds} | ${entry.updatesPerS} | ` +
        `${entry.workerCores.join(', ')} | ${entry.fleetCores} | ${entry.benchCores} | ${Math.round(entry.machineBusy * 100)} % |`,
    );
  }
  console.log(`\n2 workers / 1 worker: ${throughput.ratio}× (target ≥ 1.6×)`);
  const file = writeBenchResults('fleet', {
    settings: {
      apis: 3,
      workers: 2,
      loadMs: LOAD_MS,
      updatesPerS: UPDATES_PER_S,
      readsPerS: READS_PER_S,
      writeIntervalMs: WRITE_INTERVAL_MS,
      runnerMs: RUNNER_MS,
      telegramMs: TELEGRAM_MS,
      telegram429Every: TELEGRAM_429_EVERY,
      queueConcurrency: QUEUE_CONCURRENCY ? Number(QUEUE_CONCURRENCY) : 'default',
      staleBoundMs: STALE_BOUND_MS,
      throughputUpdates: THROUGHPUT_UPDATES,
      throughputRounds: THROUGHPUT_ROUNDS,
    },
    soak,
    throughput,
  });
  console.log(`\nwritten to ${file}`);
}

function fmt(value: number | null): string {
  return value === null ? '–' : value.toFixed(1);
}

runBenchmark(main);
