import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Logger } from '@nestjs/common';
import { DelayedError, Queue, RedisConnection as BullConnection, UnrecoverableError, Worker, type Job as BullJob } from 'bullmq';
import type { Redis, RedisOptions } from 'ioredis';
import type { RedisTopology } from '@app/config';
import { describeRedis, nodeFor, openRedis, redisConnectionOptions, redisOptionsFor, releaseWithToken, type RedisConnection } from '@app/redis';
import {
  JobQueue,
  PermanentJobError,
  QueueUnavailableError,
  RetryLaterError,
  type AddOptions,
  type AddResult,
  type GiveUpHandler,
  type Job,
  type JobHandler,
  type ProcessOptions,
  type QueueDepth,
} from './job-queue';
import type { QueueDefinition } from './queue-definition';
import { describeFailure, retryDelayMs } from './retry-policy';
import { withTimeout } from '@app/common';

export interface BullQueueSettings {
  redis: RedisTopology;
  /** First segment of the queue's keys (`QUEUE_PREFIX`). */
  prefix: string;
  concurrency: number;
  retryDelayMs: number;
  /** Longest `add` may wait for Redis before it fails (`REDIS_COMMAND_TIMEOUT_MS`), in milliseconds. */
  addTimeoutMs: number;
  /** Whether `process` starts a worker in this process (false with `APP_ROLE=api`). */
  runsJobs: boolean;
  /** `QUEUE_LOCK_DURATION_MS`: a running job's lock, renewed every half of it. */
  lockDurationMs: number;
  /** `QUEUE_STALLED_INTERVAL_MS`: how often jobs whose lock expired are given to a worker again. */
  stalledIntervalMs: number;
  /** `QUEUE_MAX_STALLED_COUNT`: interruptions after which the give-up handler runs instead. */
  maxStalledCount: number;
}

/**
 * Finished jobs kept for inspection, then removed by BullMQ when the next job finishes: the last
 * 1 000 completed ones for at most a day, the last 5 000 failed ones for at most a week.
 */
export const RETENTION = {
  completed: { count: 1_000, age: 86_400 },
  failed: { count: 5_000, age: 7 * 86_400 },
} as const;

/** What a job holds in Redis: the caller's data and the results of its finished steps. */
interface StoredJob<T> {
  payload: T;
  steps: Record<string, unknown>;
}

/**
 * Marks an effect of a job as begun, in the job's own hash (so it lives and goes with the job, and
 * a job id reused after the queue was emptied cannot find an old mark): 1 when this call set it, 0
 * when it was set already, -1 when the job is gone. The mark's value is unique to the call, so the
 * same call sent again by ioredis after a broken connection finds its own mark and still gets 1.
 */
const BEGIN_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local held = redis.call('HGET', KEYS[1], ARGV[1])
if held == ARGV[2] then return 1 end
if held then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`;

/** The job hash field of a begun effect; BullMQ reads only its own fields and leaves it alone. */
function begunField(name: string): string {
  return `begun:${name}`;
}

/**
 * How long an add's token is remembered by BullMQ's deduplication, in milliseconds: far longer than
 * ioredis takes to send a command again after a broken connection (its next reconnect).
 */
const RESEND_WINDOW_MS = 60_000;

/**
 * What a `once` key starts with while its job is being added (then `:` and a token of that add;
 * `adding` alone from earlier versions); once added, it holds the job's id.
 */
const ADDING = 'adding';

/**
 * Claims a `once` id (KEYS[1]) for ARGV[1] seconds as ARGV[3] (`adding:` and a token of this add).
 * Returns 1 when claimed: the id is new, it holds this add's own claim (ioredis sent the script
 * again after a broken connection, and the first run had set it), or an earlier add under it was
 * abandoned (still `adding:` after ARGV[2] ms: it failed and its release could not reach Redis,
 * e.g. the primary died mid-add and the claim survived on the promoted replica). Returns 0 when a
 * job was added under it (a duplicate), -1 when another add is in flight.
 */
const CLAIM_ONCE_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if current == ARGV[3] then return 1 end
if current and string.sub(current, 1, ${ADDING.length}) ~= '${ADDING}' then return 0 end
if current and redis.call('PTTL', KEYS[1]) > tonumber(ARGV[1]) * 1000 - tonumber(ARGV[2]) then return -1 end
redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[1])
return 1`;

/** BullMQ's deduplication id of a job added under a `once` id (apart from the add tokens used without one). */
function onceDeduplicationId(id: string): string {
  return `once:${id}`;
}

/** Redis key remembering a `once` id. Every queue key starts with the prefix, so one prefix is one app. */
export function onceKey(prefix: string, queue: string, id: string): string {
  return `${prefix}:${queue}:once:${id}`;
}

/**
 * What BullMQ gets as its `connection`. One server or a Sentinel primary: options, from which BullMQ
 * opens (and closes) its own connections. A Cluster: a client, since BullMQ cannot build one from
 * options; `owned` collects it for {@link BullJobQueue.close}, as BullMQ leaves a client it was given open.
 */
function bullConnection(topology: RedisTopology, role: string, overrides: RedisOptions, owned: RedisConnection[]) {
  if (topology.kind !== 'cluster') return redisOptionsFor(topology, role, overrides);
  const client = openRedis(topology, role, overrides);
  client.on('error', () => undefined);
  owned.push(client);
  return client;
}

/**
 * Longest a round of confirmation waits for a replica (`WAIT 1`), in milliseconds; never more than
 * half the command budget, so the wait's answer fits in it.
 */
const REPLICATION_WAIT_MS = 500;
/**
 * After a primary was found with no replica online (right after a failover, until the old primary
 * rejoins as a replica), how long writes are taken as unreplicated without asking again.
 */
const NO_REPLICA_RECHECK_MS = 5_000;

/** How often a begun mark that a lagging replica has not confirmed is looked for again (`ROLE`), in milliseconds. */
const REPLICA_POLL_MS = 250;

/** How long the key a round of confirmation writes lives, in milliseconds: it only has to be written. */
const CONFIRMED_KEY_TTL_MS = 60_000;

/**
 * What replicas say of the writes made before a round of confirmation: one has them (`confirmed`),
 * there is none to have them (`unreplicated`: one server, or a primary with no replica online; they
 * are as durable as on one server), or one is online and did not confirm them in time
 * (`unconfirmed`: a primary killed now loses them; once a replica acknowledges `offset`, it has them).
 */
type Replication = { state: 'confirmed' | 'unreplicated' } | { state: 'unconfirmed'; node: Redis; offset: number };

/** A node's `ROLE`: whether it is a primary, its replication offset, and the offset each online replica acknowledged. */
interface Role {
  primary: boolean;
  offset: number;
  replicaOffsets: number[];
}

/** A `ROLE` that got no answer in time: a poll for a lagging replica tries again; any other failure ends it. */
class NoRoleAnswerError extends Error {
  constructor(timeoutMs: number) {
    super(`no answer to ROLE within ${timeoutMs} ms`);
  }
}

/** How long shutdown waits for BullMQ's stalled-job checker to notice the worker closed, in milliseconds. */
const STALLED_CHECKER_EXIT_MS = 1_000;

/**
 * Drops an `error` that BullMQ's connection object emits once it is closed and nothing listens to
 * it any more. BullMQ 5.81 reports a connection whose start failed as an `error` on that object
 * even after the queue or worker closing it removed every listener there, and an `error` event
 * nobody listens to throws — here as an unhandled rejection. Closing a queue or worker while Redis
 * was out of reach (a shutdown during an outage: a connection that had failed once and was trying
 * again) crashed the process. BullMQ 6 (6.7.6, `RedisConnection`'s constructor) emits that error
 * only to a listener; this does the same for 5.81, for closed connections only, so an unheard error
 * of an open one still surfaces. It is set on the class because the worker builds its blocking
 * connection from the class itself, which no option reaches.
 */
function dropErrorsOfClosedConnections(): void {
  BullConnection.prototype.emit = function (this: BullConnection, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'error' && this.closing && this.listenerCount('error') === 0) return false;
    return EventEmitter.prototype.emit.call(this, event, ...args);
  };
}
dropErrorsOfClosedConnections();

/** Resolves once `connection` is ready (at once if it is). */
function connectionReady(connection: RedisConnection): Promise<void> {
  return new Promise((resolve) => (connection.status === 'ready' ? resolve() : connection.once('ready', () => resolve())));
}

/** Waits until `work` settles (either way) or `ms` pass, whichever is first; never rejects. Whether it settled. */
async function settleWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([
    work.then(
      () => true,
      () => true,
    ),
    new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    }),
  ]);
  clearTimeout(timer);
  return settled;
}

/** How long closing a BullMQ queue or worker may wait for Redis to answer its `QUIT`s before its connections are cut, in milliseconds. */
const GRACEFUL_CLOSE_MS = 500;

/** BullMQ's connection objects under a queue or worker (internals: a worker's blocking one is private). */
function connectionsOf(owner: Queue | Worker): BullConnection[] {
  const internals = owner as unknown as { connection: BullConnection; blockingConnection?: BullConnection };
  return internals.blockingConnection ? [internals.blockingConnection, internals.connection] : [internals.connection];
}

/**
 * Lets `closing`, the close of `owner`, finish within about twice {@link GRACEFUL_CLOSE_MS}. BullMQ
 * 5.81 closes a connection that was once ready with `QUIT` and waits for the reply, which never
 * comes while Redis is down (the QUIT waits behind the offline queue) or frozen; a worker's
 * `close(true)` returns the same pending close. A shutdown during an outage thus waited out its
 * whole budget and exited 1. Past the grace its connections are cut, which fails the QUIT (a
 * connection error, which BullMQ's close ignores) and lets the close finish. Each is marked closing
 * first, as BullMQ's own close does: a worker then records no job outcome on it. Without the mark, a
 * job ending after the cut had its completion write retried at once and for ever on the closed
 * connection, which starved the event loop (the process hung until SIGKILL); the job is left to
 * BullMQ's stalled-job check instead, as when a process is killed.
 */
export async function finishClosing(closing: Promise<unknown>, owner: Queue | Worker): Promise<void> {
  if (await settleWithin(closing, GRACEFUL_CLOSE_MS)) return;
  for (const connection of connectionsOf(owner)) {
    connection.closing = true;
    void connection.disconnect(false).catch(() => undefined);
  }
  await settleWithin(closing, GRACEFUL_CLOSE_MS);
}

/**
 * Ends the stalled-job checker of a closed worker. BullMQ 5.81: when `close()` lands while the
 * checker is running a check (always the case right after start), the checker arms its next wait
 * (`stalledInterval`) after `close()` has cleared the previous one, and that timer keeps the
 * process alive after shutdown. Clearing each wait it arms lets its loop see `closing` and return.
 */
async function endStalledChecker(worker: Worker): Promise<void> {
  const internals = worker as unknown as { stalledCheckerRunning?: boolean; stalledCheckStopper?: () => void };
  const deadline = Date.now() + STALLED_CHECKER_EXIT_MS;
  while (internals.stalledCheckerRunning && Date.now() < deadline) {
    internals.stalledCheckStopper?.();
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * The durable queue: a BullMQ queue in the configured Redis, on connections BullMQ opens and closes
 * itself (its worker blocks on its connection, which the shared command connection must never do).
 * The producer fails fast while Redis is down (no offline queue); the worker's connections wait for
 * Redis to come back (`maxRetriesPerRequest: null`, as BullMQ requires). `once` ids are plain
 * `SET NX EX` on the app's shared command connection.
 */
export class BullJobQueue<T> extends JobQueue<T> {
  readonly durable = true;
  readonly name: string;
  private readonly logger: Logger;
  private readonly queue: Queue<StoredJob<T>>;
  private worker: Worker<StoredJob<T>> | undefined;
  private operator: Queue | undefined;
  /** The handler runs under way: a shutdown waits for them, not for Redis. */
  private readonly running = new Set<Promise<void>>();
  private outage = false;
  /** Connections this queue opened itself (Cluster clients given to BullMQ, the confirming connection), closed after BullMQ's own. */
  private readonly ownedConnections: RedisConnection[] = [];
  /**
   * With replicas, the connection that asks them to confirm writes: a write of its own, then `WAIT 1`.
   * Redis holds a client's next commands behind its `WAIT`, which on the shared command connection
   * would hold every other caller's (cache reads, `once` claims), past their command timeout.
   */
  private readonly confirming: RedisConnection | undefined;
  /** The round of confirmation callers join until it starts; rounds run one at a time. */
  private nextRound: Promise<Replication> | undefined;
  private lastRound: Promise<unknown> = Promise.resolve();
  /** Until when writes are not held for a replica's confirmation (none was online at the last look). */
  private noReplicaUntil = 0;
  private readonly replicationWaitMs: number;

  constructor(
    definition: QueueDefinition<T>,
    private readonly settings: BullQueueSettings,
    private readonly commands: RedisConnection,
  ) {
    super();
    this.name = definition.name;
    this.logger = new Logger(`Queue:${definition.name}`);
    this.replicationWaitMs = Math.min(REPLICATION_WAIT_MS, Math.floor(settings.addTimeoutMs / 2));
    this.queue = new Queue<StoredJob<T>>(this.name, {
      connection: bullConnection(settings.redis, `queue:${this.name}`, { enableOfflineQueue: false }, this.ownedConnections),
      prefix: settings.prefix,
      defaultJobOptions: {
        attempts: definition.attempts,
        backoff: { type: 'exponential', delay: settings.retryDelayMs },
        removeOnComplete: (definition.retention ?? RETENTION).completed,
        removeOnFail: (definition.retention ?? RETENTION).failed,
      },
    });
    this.queue.on('error', (error) => this.connectionTrouble(this.queue, error));
    if (settings.redis.kind !== 'standalone') {
      this.confirming = openRedis(settings.redis, `queue:${this.name}:confirming`, { enableOfflineQueue: false });
      this.confirming.on('error', () => undefined);
      this.ownedConnections.push(this.confirming);
    }
  }

  async depth(): Promise<QueueDepth> {
    const counts = await this.queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed');
    return { waiting: counts.waiting + counts.prioritized, active: counts.active, delayed: counts.delayed };
  }

  /** The producer BullMQ queue underneath, whose adds the webhook and the callbacks wait for (tests watch them). */
  get bullQueue(): Queue {
    return this.queue;
  }

  /**
   * The queue as an operator tool (the dashboard) reads and changes it: a BullMQ queue of its own on
   * a connection of its own whose commands fail after `addTimeoutMs` and never wait for Redis to come
   * up (no offline queue: a command refused while Redis is down never runs later), so a frozen or
   * absent Redis fails the tool's request within that budget instead of holding it, and the tool's
   * reads never queue with the producer's adds. It runs no command before the tool does (no version
   * check, no wait for ready), so a Redis frozen when it opens cannot break it. Resolves once the
   * connection is ready, or after the connect timeout.
   */
  async operatorQueue(): Promise<Queue> {
    if (this.operator) return this.operator;
    const connection = openRedis(this.settings.redis, `queue:${this.name}:operator`, {
      enableOfflineQueue: false,
      commandTimeout: this.settings.addTimeoutMs,
    });
    connection.on('error', () => undefined);
    this.ownedConnections.push(connection);
    this.operator = new Queue(this.name, {
      connection,
      prefix: this.settings.prefix,
      skipVersionCheck: true,
      skipWaitingForReady: true,
    });
    this.operator.on('error', () => undefined);
    await settleWithin(connectionReady(connection), redisConnectionOptions.connectTimeout ?? 2_000);
    return this.operator;
  }

  /**
   * Resolves once the producer connection (and the confirming one, with replicas) is ready, has failed
   * its first attempt, or the connect timeout has passed: the first webhooks find them connected, and
   * a Redis outage at boot does not stop the app from starting (adds then fail fast until Redis is back).
   */
  async connected(): Promise<void> {
    const confirming = this.confirming;
    const confirmingReady = confirming
      ? connectionReady(confirming)
      : undefined;
    await settleWithin(Promise.all([this.queue.waitUntilReady(), confirmingReady]), redisConnectionOptions.connectTimeout ?? 2_000);
  }

  /**
   * Queues a job, once per `once` id. Bounded by `addTimeoutMs` (the `once` SET by the command
   * connection's own timeout): a Redis that hangs fails the add instead of holding the request. An
   * abandoned step may still land when Redis answers again, so its `once` id is released only if
   * no job can have been queued under it — a redelivery is then queued, never dropped as a duplicate.
   * While its job is being added the id holds `adding:` and a token of this add: the claim ioredis
   * sends again after a broken connection finds its own token and is still this add's, and a
   * release removes only this add's claim ({@link releaseWithToken}) — a repeat that fails during
   * the same hang leaves the first add's id alone, or the next repeat would be queued a second time.
   */
  async add(data: T, options: AddOptions = {}): Promise<AddResult> {
    const key = options.once ? onceKey(this.settings.prefix, this.name, options.once.id) : undefined;
    const token = randomUUID();
    const claim = `${ADDING}:${token}`;
    const release = () => (key ? releaseWithToken(this.commands, key, claim).then(undefined, () => undefined) : undefined);
    if (key && options.once) {
      let claimed: number;
      try {
        // An add still `adding:` after twice its budget has failed for good (a late one lands within it).
        claimed = Number(await this.commands.eval(CLAIM_ONCE_SCRIPT, 1, key, options.once.ttlSeconds, 2 * this.settings.addTimeoutMs, claim));
      } catch (error) {
        // No job was queued; a claim that lands late is undone by this release, sent after it on one connection.
        void release();
        throw this.unavailable(error);
      }
      if (claimed === 0) {
        // The add that stored the job may have answered 503 (its replica lagged): the job may still be on the primary alone.
        await this.acknowledgeReplicated(`the job under once id ${options.once.id}`).catch((error: unknown) => {
          throw this.unavailable(error);
        });
        return { status: 'duplicate' };
      }
      // Not known yet whether that add stored its job: the redelivery tries again later.
      if (claimed === -1) throw this.unavailable(new Error(`a job with once id ${options.once.id} is being added`));
    }
    // Deduplicated in the script that stores the job, so the job and its deduplication key are
    // replicated together: by the `once` id for as long as the id is remembered, else by the add's
    // own token. The add ioredis sends again after a broken connection (the first had run, its
    // answer was lost) finds the first job instead of storing a twin, even one already finished and
    // removed; so does a later add under the same id whose claim was released or taken over while
    // the job of an add that seemed to fail was stored after all (its answer lost with a killed
    // primary that had replicated it, or a late retry by ioredis' Cluster client).
    const deduplication = options.once
      ? { id: onceDeduplicationId(options.once.id), ttl: options.once.ttlSeconds * 1000 }
      : { id: token, ttl: RESEND_WINDOW_MS };
    const adding = this.queue.add(this.name, { payload: data, steps: {} }, { deduplication });
    // Marks the id added (whenever the job is stored, also after this call gave up on it), so a
    // redelivery is a duplicate rather than an abandoned claim — also when a repeat took the claim
    // over and released it meanwhile (Redis frozen past twice the budget ages the claim while the
    // add waits in it): a stored job always makes the id a duplicate.
    const ttlSeconds = options.once?.ttlSeconds;
    const marked = adding.then((job) =>
      key && ttlSeconds ? this.commands.set(key, String(job.id), 'EX', ttlSeconds).then(undefined, () => null) : null,
    );
    try {
      const job = await withTimeout(
        adding,
        this.settings.addTimeoutMs,
        () => new Error(`no answer from Redis within ${this.settings.addTimeoutMs} ms`),
      );
      this.outage = false;
      await marked;
      await this.acknowledgeReplicated(`job ${job.id}`);
      return { status: 'queued', jobId: String(job.id) };
    } catch (error) {
      // The job may still be stored when Redis answers again: keep the id then (its redelivery is
      // a duplicate of a queued job), release it only if the add fails for good.
      marked.then(undefined, () => release());
      throw this.unavailable(error);
    }
  }

  /**
   * With replicas (Sentinel, Cluster), asks whether one has every write made so far to the queue's
   * node: a queued job (and the `once` id written before it) or a begun mark. Replication is
   * asynchronous, and a primary killed right after would take the write with it: a job whose update
   * Telegram, answered 200, never sends again, or a mark whose loss lets the job's next run forward
   * the same update again. Callers that arrive while a round runs join the next one, which covers
   * them all: its own write comes after theirs, and `WAIT` covers the writes the primary made before
   * the waiting connection's last write (Redis 7.2 moves that point only on a write). Fails when the
   * connection breaks meanwhile (the caller answers 503, or the attempt fails before its effect).
   */
  private replication(): Promise<Replication> {
    if (!this.confirming || Date.now() < this.noReplicaUntil) return Promise.resolve({ state: 'unreplicated' });
    if (!this.nextRound) {
      const confirming = this.confirming;
      const round = this.lastRound.then(() => {
        this.nextRound = undefined;
        return this.confirmRound(confirming);
      });
      this.nextRound = round;
      this.lastRound = round.catch(() => undefined);
    }
    return this.nextRound;
  }

  private async confirmRound(confirming: RedisConnection): Promise<Replication> {
    const budget = this.settings.addTimeoutMs;
    // Through the client, which follows a Cluster's slots as they move after a failover; then on the
    // node that took it. Every queue key shares the prefix's hash tag, so that node holds all of this queue's writes.
    await withTimeout(confirming.set(this.confirmedKey, String(Date.now()), 'PX', CONFIRMED_KEY_TTL_MS), budget, () => new Error(`no answer within ${budget} ms`));
    const node = nodeFor(confirming, this.confirmedKey);
    const answerWithin = this.replicationWaitMs + budget;
    const replicas = await withTimeout(node.wait(1, this.replicationWaitMs), answerWithin, () => new Error(`no answer to WAIT within ${answerWithin} ms`));
    if (replicas >= 1) return { state: 'confirmed' };
    const role = await this.roleOf(node);
    if (!role.primary) throw new Error('the node that took the write is no longer a primary');
    if (role.replicaOffsets.some((offset) => offset >= role.offset)) return { state: 'confirmed' };
    if (role.replicaOffsets.length > 0) return { state: 'unconfirmed', node, offset: role.offset };
    this.noReplicaUntil = Date.now() + NO_REPLICA_RECHECK_MS;
    this.logger.warn(`Queue ${this.name}: no replica is online; writes are taken as unreplicated for ${NO_REPLICA_RECHECK_MS} ms`);
    return { state: 'unreplicated' };
  }

  /**
   * The key each round of confirmation writes (any value, a minute's life): the write the round's
   * `WAIT` follows. In the queue's slot, as every key under the prefix.
   */
  private get confirmedKey(): string {
    return `${this.settings.prefix}:${this.name}:confirmed`;
  }

  private async roleOf(node: Redis): Promise<Role> {
    const timeoutMs = this.settings.addTimeoutMs;
    const role = await withTimeout<unknown[]>(node.role(), timeoutMs, () => new NoRoleAnswerError(timeoutMs));
    if (role[0] !== 'master') return { primary: false, offset: 0, replicaOffsets: [] };
    // A primary lists only its online replicas (in sync and streaming): [host, port, acknowledged offset].
    return { primary: true, offset: Number(role[1]), replicaOffsets: (role[2] as string[][]).map((replica) => Number(replica[2])) };
  }

  /** Refuses to acknowledge a job (the caller answers 503; the redelivery is a duplicate) while an online replica has not confirmed it. */
  private async acknowledgeReplicated(what: string): Promise<void> {
    if ((await this.replication()).state === 'unconfirmed') {
      throw new Error(`a replica is online and did not confirm ${what} within ${this.replicationWaitMs} ms`);
    }
  }

  async forgetOnce(id: string): Promise<void> {
    try {
      // The job's deduplication first: were only it left, a replay would be taken for the old job.
      await this.queue.removeDeduplicationKey(onceDeduplicationId(id));
      await this.commands.del(onceKey(this.settings.prefix, this.name, id));
    } catch (error) {
      this.logger.warn(`Could not forget once id ${id} of queue ${this.name}; it expires by its TTL: ${(error as Error).message}`);
    }
  }

  private unavailable(error: unknown): QueueUnavailableError {
    return new QueueUnavailableError(`Could not queue a job on ${this.name}: ${(error as Error).message}`, { cause: error });
  }

  process(handler: JobHandler<T>, options: ProcessOptions<T> = {}): void {
    if (this.worker) throw new Error(`Queue ${this.name} already has a handler`);
    if (!this.settings.runsJobs) {
      this.logger.log(`Queue ${this.name}: jobs are queued here and run by the workers (APP_ROLE=api)`);
      return;
    }
    this.worker = new Worker<StoredJob<T>>(
      this.name,
      (job, token) => {
        const run = this.runJob(job, token, handler, options);
        this.running.add(run);
        return run.finally(() => this.running.delete(run));
      },
      {
        // Options rather than a connection: BullMQ opens the worker's connections (with
        // `maxRetriesPerRequest: null`) and closes them itself, also when shutdown comes mid-connect.
        connection: bullConnection(
          this.settings.redis,
          `queue-worker:${this.name}`,
          { maxRetriesPerRequest: null, enableOfflineQueue: true },
          this.ownedConnections,
        ),
        prefix: this.settings.prefix,
        concurrency: this.settings.concurrency,
        lockDuration: this.settings.lockDurationMs,
        stalledInterval: this.settings.stalledIntervalMs,
        // One more than allowed: BullMQ fails a job past its own count without running anything,
        // while the run past ours still tells the user (see giveUp).
        maxStalledCount: this.settings.maxStalledCount + 1,
      },
    );
    const worker = this.worker;
    worker.on('error', (error) => this.connectionTrouble(worker, error));
    this.worker.on('completed', (job) => {
      this.outcomes.completed += 1;
      this.logger.debug(`Job ${job.id} of queue ${this.name} completed`);
    });
    this.worker.on('failed', (job, error) => {
      if (!job) return;
      const maxAttempts = job.opts.attempts ?? 1;
      const retried = !(error instanceof UnrecoverableError) && job.attemptsMade < maxAttempts;
      const delay = retried ? retryDelayMs(job.attemptsMade, this.settings.retryDelayMs) : null;
      const line = describeFailure(this.name, String(job.id), job.attemptsMade, maxAttempts, error, delay);
      this.outcomes[retried ? 'retried' : 'failed'] += 1;
      if (retried) this.logger.warn(line);
      else this.logger.error(line);
    });
  }

  /** One run of `handler` on `job` (or of the give-up handler, past the stalled count), as BullMQ's processor. */
  private async runJob(job: BullJob<StoredJob<T>>, token: string | undefined, handler: JobHandler<T>, options: ProcessOptions<T>): Promise<void> {
    const view = this.viewOf(job);
    if (job.stalledCounter > this.settings.maxStalledCount) return this.giveUp(view, job.stalledCounter, options.giveUp);
    try {
      await handler(view);
    } catch (error) {
      if (error instanceof PermanentJobError) throw new UnrecoverableError(error.message);
      if (error instanceof RetryLaterError) {
        // Back to the delayed set under this worker's lock, not counted as an attempt; BullMQ
        // then leaves it alone (DelayedError) and any worker takes it when the delay is over.
        await job.moveToDelayed(Date.now() + error.delayMs, token);
        this.outcomes.retried += 1;
        this.logger.debug(`Job ${job.id} of queue ${this.name} runs again in ${error.delayMs} ms: ${error.message}`);
        throw new DelayedError();
      }
      throw error;
    }
  }

  /**
   * The run after too many interruptions: only the give-up handler, then the job fails for good.
   * Were this run cut short too, BullMQ fails the job on its next pickup without running anything.
   */
  private async giveUp(job: Job<T>, interruptions: number, handler: GiveUpHandler<T> | undefined): Promise<never> {
    const reason = `cut short ${interruptions} times (its worker stopped or lost its lock), more than QUEUE_MAX_STALLED_COUNT allows`;
    try {
      await handler?.(job, interruptions);
    } catch (error) {
      this.logger.error(`Job ${job.id} of queue ${this.name}: its give-up handler failed: ${(error as Error).message}`);
    }
    throw new UnrecoverableError(reason);
  }

  consuming(): boolean {
    return this.worker?.isRunning() === true;
  }

  /**
   * Stops taking jobs, waits for the handler runs under way (past `timeoutMs` it says so and goes
   * on waiting, until the drain's own deadline ends the process; BullMQ's stalled-job check then
   * gives such a job to a worker again), then closes the worker ({@link finishClosing}). It waits
   * for the runs, not for the whole close, which also waits for Redis to answer.
   */
  async stopProcessing(timeoutMs: number): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    const closing = worker.close();
    const runs = Promise.allSettled([...this.running]);
    if (!(await settleWithin(runs, timeoutMs))) {
      this.logger.warn(
        `Running jobs did not finish within the ${timeoutMs} ms left for them at shutdown; waiting for them until the ` +
          "drain's deadline, after which BullMQ's stalled-job check gives them to a worker again",
      );
      await runs;
    }
    await finishClosing(closing, worker);
    await endStalledChecker(worker);
  }

  async close(): Promise<void> {
    await finishClosing(this.queue.close(), this.queue);
    if (this.operator) await finishClosing(this.operator.close(), this.operator);
    for (const connection of this.ownedConnections.splice(0)) connection.disconnect();
  }

  private viewOf(job: BullJob<StoredJob<T>>): Job<T> {
    const maxAttempts = job.opts.attempts ?? 1;
    const attempt = job.attemptsMade + 1;
    const stored = job.data;
    return {
      id: String(job.id),
      data: stored.payload,
      attempt,
      maxAttempts,
      isFinalAttempt: attempt >= maxAttempts,
      step: async <R>(name: string, work: () => Promise<R>): Promise<R> => {
        if (Object.prototype.hasOwnProperty.call(stored.steps, name)) return stored.steps[name] as R;
        const result = await work();
        stored.steps = { ...stored.steps, [name]: result ?? null };
        await job.updateData(stored);
        return result;
      },
      begin: async (name: string): Promise<boolean> => {
        const mark = `${new Date().toISOString()} ${randomUUID()}`;
        const set = await this.commands.eval(BEGIN_SCRIPT, 1, this.queue.toKey(String(job.id)), begunField(name), mark);
        if (set === -1) throw new Error(`Job ${job.id} of queue ${this.name} no longer exists`);
        if (set === 1) await this.untilReplicated(`job ${job.id}'s ${name} mark`);
        return set === 1;
      },
    };
  }

  /**
   * Holds a begun mark's call until a replica has the mark, or none is online. Failing the attempt
   * at once would leave the mark on the primary, and every later attempt would skip the call as
   * possibly made: a lost forward. A replica that stays frozen is dropped by the primary after its
   * `repl-timeout` (60 s by default), and the call then goes ahead; the hold ends at the job's lock
   * duration in any case (the attempt then fails, its call unmade and reported unknown). Polled with
   * `ROLE` against the offset after the mark (replicas acknowledge every second); a poll that gets
   * no answer is tried again until then.
   */
  private async untilReplicated(what: string): Promise<void> {
    const replication = await this.replication();
    if (replication.state !== 'unconfirmed') return;
    this.logger.warn(`Queue ${this.name}: a replica is online and has not confirmed ${what}; its call waits for it`);
    const deadline = Date.now() + this.settings.lockDurationMs;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, REPLICA_POLL_MS));
      const role = await this.roleOf(replication.node).catch((error: Error) => (error instanceof NoRoleAnswerError ? undefined : Promise.reject(error)));
      if (!role) continue;
      if (!role.primary) throw new Error(`the node that took ${what} is no longer a primary`);
      if (role.replicaOffsets.length === 0 || role.replicaOffsets.some((offset) => offset >= replication.offset)) return;
    }
    throw new Error(`no replica confirmed ${what} within ${this.settings.lockDurationMs} ms`);
  }

  /** Logs the first error of an outage, once; not one of closing (a connection cut by the close itself). */
  private connectionTrouble(source: Queue | Worker, error: Error): void {
    if (this.outage || source.closing) return;
    this.outage = true;
    this.logger.warn(`Redis trouble on queue ${this.name} (${describeRedis(this.settings.redis)}): ${error.message}`);
  }
}
