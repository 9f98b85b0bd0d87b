import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Logger } from '@nestjs/common';
import type { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { closeAfterAnswers, onRequestArrived, refuseBodyStillArriving, unfinishedResponses } from '@app/http';

/** What a drain waits for, counted when it starts and, if it runs out of time, when it gives up. */
interface InFlight {
  requests: number;
  deliveries: number;
}

const trackers = new WeakMap<object, RequestsInFlight>();

/**
 * The HTTP requests that have arrived and whose answer is not finished. During a drain the last answer
 * on each connection closes it: an idle keep-alive socket left open would hold the server's close, and
 * so the drain, until the keep-alive timeout (72 s in Fastify), far past `SHUTDOWN_TIMEOUT_MS`.
 *
 * What is tracked is connections, not requests: a keep-alive connection carries many requests, and
 * this way a request costs one flag check (a request arriving during the drain is answered with
 * `Connection: close`) instead of a set entry and a `close` listener. A connection's requests in flight
 * are the response Node is writing on it and those pipelined behind it (`unfinishedResponses` of
 * `@app/http`). The drain closes each connection after the last of them (`closeAfterAnswers`), not
 * after the one being written: Node would drop the answers queued behind, whose routes have already
 * run. `createApp` installs it, so the benchmarks measure what production runs.
 */
export class RequestsInFlight {
  private readonly sockets = new Set<Socket>();
  private draining = false;

  private constructor(adapter: FastifyAdapter) {
    const sockets = this.sockets;
    function forget(this: Socket): void {
      sockets.delete(this);
    }
    adapter.getInstance().server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', forget);
    });
    onRequestArrived(adapter, (_request, reply) => {
      if (this.draining) reply.raw.shouldKeepAlive = false;
    });
  }

  /** Starts counting the requests `adapter` serves. */
  static track(adapter: FastifyAdapter): RequestsInFlight {
    const tracker = new RequestsInFlight(adapter);
    trackers.set(adapter, tracker);
    return tracker;
  }

  /** The tracker `createApp` installed on `app`. */
  static of(app: NestFastifyApplication): RequestsInFlight {
    const tracker = trackers.get(app.getHttpAdapter());
    if (!tracker) throw new Error('RequestsInFlight.track was not called for this app\'s adapter (createApp calls it)');
    return tracker;
  }

  get size(): number {
    let unfinished = 0;
    for (const socket of this.sockets) unfinished += unfinishedResponses(socket).length;
    return unfinished;
  }

  closeConnectionsAfterAnswers(): void {
    this.draining = true;
    for (const socket of this.sockets) closeAfterAnswers(socket);
  }

  /** Refuses (408) every request whose body is still arriving; returns how many connections had one. */
  refuseBodiesStillArriving(): number {
    let refused = 0;
    for (const socket of this.sockets) if (refuseBodyStillArriving(socket)) refused += 1;
    return refused;
  }
}

/**
 * When in a drain of `timeoutMs` the bodies still arriving are refused: as late as leaves the rest
 * of the drain 4 s — the job queues and Redis connections close after the HTTP server, which took
 * 2.9 s with Redis frozen — or half of it when the whole drain is shorter than 8 s. A body may
 * otherwise take `HTTP_REQUEST_TIMEOUT_MS` (60 s), far past the drain (10 s): its request held the
 * drain to its deadline and the process exited 1.
 */
function bodyCutOffMs(timeoutMs: number): number {
  return Math.max(timeoutMs / 2, timeoutMs - 4_000);
}

function describe({ requests, deliveries }: InFlight): string {
  return `${requests} request(s) and ${deliveries} callback delivery(ies)`;
}

export interface SignalDrainOptions {
  /** `SHUTDOWN_TIMEOUT_MS`: the drain's whole budget, the same for SIGTERM and SIGINT. */
  timeoutMs: number;
  requests: RequestsInFlight;
  /** Callback deliveries under way. */
  deliveries: () => number;
  /** Ends the process; tests of the lifecycle run it as a real child process instead. */
  exit?: (code: number) => void;
}

/**
 * Holds SIGTERM and SIGINT while the app boots, before {@link drainOnSignals} can drain it: without
 * a listener Node ends the process with the signal (exit 143 or 130, no line). `release()` stops
 * holding them and returns the first one that came, for the drain to start with at once. A second
 * one exits 1 at once, as during a drain (the logger is not set up yet: the line goes to stderr).
 */
export function holdSignalsDuringBoot(): { release(): NodeJS.Signals | undefined } {
  let first: NodeJS.Signals | undefined;
  const hold = (signal: NodeJS.Signals): void => {
    if (first === undefined) {
      first = signal;
      return;
    }
    process.stderr.write(`${signal} while starting, after ${first}: exiting 1 without draining\n`);
    process.exit(1);
  };
  process.on('SIGTERM', hold);
  process.on('SIGINT', hold);
  return {
    release: () => {
      process.off('SIGTERM', hold);
      process.off('SIGINT', hold);
      return first;
    },
  };
}

/**
 * SIGTERM and SIGINT close the app (callback deliveries, HTTP requests in flight, the job queue's
 * worker, then the Redis and database connections) and exit 0 when that finished within
 * `timeoutMs`, or 1 when it did not: a clean stop is a success, not the signal's 143 or 130.
 * One line when the drain starts and one when it ends say what was drained and how long it took.
 * A second signal during the drain exits 1 at once. Returns what a signal runs, for one that came
 * during boot ({@link holdSignalsDuringBoot}).
 */
export function drainOnSignals(app: NestFastifyApplication, options: SignalDrainOptions): (signal: NodeJS.Signals) => void {
  const logger = new Logger('Lifecycle');
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let draining = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (draining) {
      logger.warn(`${signal} during the drain: exiting 1 without waiting for it`);
      exit(1);
      return;
    }
    draining = true;
    const startedAt = performance.now();
    const elapsed = () => Math.round(performance.now() - startedAt);
    const inFlight = (): InFlight => ({ requests: options.requests.size, deliveries: options.deliveries() });
    const atStart = inFlight();
    options.requests.closeConnectionsAfterAnswers();
    // Nest stops the job queue workers (`beforeApplicationShutdown`) before it closes the HTTP server,
    // and with a frozen Redis or a long job that took seconds while new connections were served; under
    // load the drain never ended. The listener closes now; the server's own close (Fastify's, later)
    // still waits for the connections open now to end.
    app.getHttpServer().close();
    logger.log(
      `${signal}: draining ${describe(atStart)} in flight, then the job queue worker and the Redis and database ` +
        `connections; at most ${options.timeoutMs} ms`,
    );
    const cutOff = setTimeout(() => {
      const refused = options.requests.refuseBodiesStillArriving();
      if (refused > 0) logger.warn(`Refused ${refused} request body(ies) still arriving ${elapsed()} ms into the drain (408)`);
    }, bodyCutOffMs(options.timeoutMs));
    const deadline = setTimeout(() => {
      logger.error(
        `Drain did not finish within ${options.timeoutMs} ms (${describe(inFlight())} still in flight); exiting 1`,
      );
      exit(1);
    }, options.timeoutMs);
    app.close().then(
      () => {
        clearTimeout(deadline);
        clearTimeout(cutOff);
        logger.log(
          `Drained in ${elapsed()} ms (${describe(atStart)}, the job queue worker, the Redis and database ` +
            'connections); exiting 0',
        );
        exit(0);
      },
      (error: unknown) => {
        clearTimeout(deadline);
        clearTimeout(cutOff);
        logger.error({ err: error }, `Drain failed after ${elapsed()} ms; exiting 1`);
        exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return onSignal;
}
