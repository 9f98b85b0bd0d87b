import pino, { type DestinationStream } from 'pino';

/** A sonic-boom in `contentMode: 'buffer'`: what a batch hands its lines to, and what it flushes. */
export interface BufferDestination {
  write(chunk: Buffer): boolean;
  flush(callback?: (error?: Error | null) => void): void;
}

/**
 * Collects the log lines pino writes during one turn of the event loop and hands them to `target` as
 * one buffer: a line costs an array push, and a turn one UTF-8 encoding and one write. pino's default
 * destination, sonic-boom taking strings asynchronously, measured the UTF-8 length of every line and
 * of all it still held, and wrote through libuv's thread pool, whose round trips cost more CPU than
 * the line itself (docs/benchmarks.md, "The access log").
 *
 * Lines wait at most until the end of the turn (`setImmediate`); on exit — `process.exit`, an
 * uncaught exception, or the loop running dry — what waits is written. A SIGKILL loses the current
 * turn's lines.
 */
export class BatchedDestination implements DestinationStream {
  private pending: string[] = [];
  private scheduled = false;
  private readonly handOnScheduled = (): void => {
    this.scheduled = false;
    this.handOn();
  };
  private exiting = false;
  /**
   * At exit a turn's lines are handed on and no more waits: a line logged later — from an `exit`
   * listener — is handed on at once. The target writes synchronously, so handing on is writing.
   */
  private readonly flushOnExit = (): void => {
    this.exiting = true;
    this.handOn();
  };

  constructor(private readonly target: BufferDestination) {
    process.once('exit', this.flushOnExit);
  }

  write(line: string): void {
    this.pending.push(line);
    if (this.exiting) return this.handOn();
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.handOnScheduled);
    }
  }

  flush(callback?: (error?: Error | null) => void): void {
    this.handOn();
    this.target.flush(callback);
  }

  /**
   * Writes what waits. The target writes synchronously, so nothing is left in it; sonic-boom's own
   * `flushSync` is not called, as it retries a failed write (ENOSPC, EPIPE) every 100 ms forever.
   */
  flushSync(): void {
    this.handOn();
  }

  /** Stops flushing at exit, for a destination that is replaced while the process goes on (tests). */
  detach(): void {
    this.handOn();
    process.off('exit', this.flushOnExit);
  }

  private handOn(): void {
    if (this.pending.length === 0) return;
    const lines = Buffer.from(this.pending.length === 1 ? this.pending[0] : this.pending.join(''));
    this.pending = [];
    this.target.write(lines);
  }
}

/**
 * Node sets a pipe on standard output to non-blocking the first time `process.stdout` is touched, and
 * sonic-boom answers a full pipe (EAGAIN) by sleeping 100 ms before it tries again: a burst of log
 * lines larger than the pipe's 64 KiB would stall the process in 100 ms steps however fast the reader
 * is. A blocking pipe makes a write wait exactly until the reader has taken the lines. Files and
 * terminals are blocking already and have no such handle. `_handle.setBlocking` is Node's own
 * (it makes standard output blocking on Windows with it); test/log-flush.int-spec.ts fails if the
 * pipe stays non-blocking.
 */
function makeStandardOutputBlocking(): void {
  const handle = (process.stdout as unknown as { _handle?: { setBlocking?: (blocking: boolean) => number } })._handle;
  handle?.setBlocking?.(true);
}

/**
 * sonic-boom's answer to EAGAIN: the pipe is shared with whoever else holds it (a parent such as
 * `npm start`), and a Node process among them that touches its standard output makes it non-blocking
 * again. Making it blocking before the retry keeps that to one 100 ms wait instead of one per full pipe.
 */
function blockAgainBeforeRetry(): boolean {
  makeStandardOutputBlocking();
  return true;
}

/**
 * Standard output as the app's log destination: pino's sonic-boom, writing synchronously and taking
 * buffers, behind a {@link BatchedDestination}, over a blocking pipe. Nothing is held in memory past the
 * turn: when nothing reads standard output, the process waits for its reader (docs/operations.md, "Logs").
 */
export function batchedStandardOutput(): BatchedDestination {
  makeStandardOutputBlocking();
  // sonic-boom's typings declare string writes only; `contentMode: 'buffer'` makes it take buffers.
  const sonicBoom = pino.destination({
    fd: process.stdout.fd ?? 1,
    sync: true,
    contentMode: 'buffer',
    retryEAGAIN: blockAgainBeforeRetry,
  }) as unknown as BufferDestination;
  return new BatchedDestination(sonicBoom);
}
