import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
/** About 6 MB of lines: far past a pipe's 64 KiB, so writes meet a full pipe. */
const LINES = 20_000;
/** `O_NONBLOCK` in the octal flags of /proc/<pid>/fdinfo/<fd>. */
const O_NONBLOCK = 0o4000;

type Ending = 'exit' | 'throw' | 'loop runs dry';

/** A script line that sets `stdoutFlags()`: the flags of this process's standard output, from /proc. */
const READ_STDOUT_FLAGS =
  "const stdoutFlags = () => parseInt(/flags:\\s+(\\d+)/.exec(require('node:fs').readFileSync('/proc/self/fdinfo/1', 'utf8'))[1], 8);";

interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

interface RunOptions {
  /** Standard output as a file descriptor; a pipe read here when absent. */
  stdout?: number;
  /** Stop reading the pipe for this long once the first lines arrive. */
  pauseReadingMs?: number;
}

/**
 * Runs `body` in a process with `logger`, the app's production logger (standard output, batched per
 * turn: libs/logging/src/batched-destination.ts). Ends the process with SIGKILL after 10 s.
 */
function runLoggingScript(body: string, options: RunOptions = {}): Promise<Ran> {
  const script = `
    const { createAppLogger } = require('./libs/logging/src/app-logger');
    const logger = createAppLogger({ env: 'production', logLevel: 'info', app: { name: 'log-flush' } });
    ${body}`;
  const started = Date.now();
  const child = spawn(process.execPath, ['-r', '@swc-node/register', '-e', script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', options.stdout ?? 'pipe', 'pipe'],
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  let stdout = '';
  let stderr = '';
  let paused = false;
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (options.pauseReadingMs && !paused) {
      paused = true;
      child.stdout!.pause();
      setTimeout(() => child.stdout!.resume(), options.pauseReadingMs);
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve) =>
    child.once('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr, elapsedMs: Date.now() - started });
    }),
  );
}

/**
 * Logs `LINES` lines, the last half in the same turn as the process's end, and reports the flags of
 * its standard output once its logger existed (`FLAGS <octal>` on standard error).
 */
const END_OF_SCRIPT: Record<Ending, string> = { exit: 'process.exit(3);', throw: "throw new Error('boom');", 'loop runs dry': '' };

function logAndEnd(ending: Ending, options: RunOptions = {}): Promise<Ran> {
  return runLoggingScript(
    `
    ${READ_STDOUT_FLAGS}
    require('node:fs').writeSync(2, 'FLAGS ' + stdoutFlags().toString(8) + '\\n');
    const pad = 'x'.repeat(250);
    const logSome = (from, to) => { for (let n = from; n < to; n += 1) logger.info({ n, pad }, 'line ' + n); };
    logSome(0, ${LINES / 2});
    setImmediate(() => {
      logSome(${LINES / 2}, ${LINES});
      ${END_OF_SCRIPT[ending]}
    });`,
    options,
  );
}

const linesOf = (stdout: string) => stdout.split('\n').filter(Boolean);

function expectEveryLineInOrder(lines: string[]): void {
  expect(lines).toHaveLength(LINES);
  const numbers = lines.map((line) => (JSON.parse(line) as { n: number }).n);
  expect(numbers).toEqual(Array.from({ length: LINES }, (_, n) => n));
}

describe('log lines on standard output', () => {
  it.each<[Ending, number]>([
    ['exit', 3],
    ['throw', 1],
    ['loop runs dry', 0],
  ])('all reach the pipe, whole and in order, when the process ends by %s', async (ending, expectedCode) => {
    const { code, stdout, stderr } = await logAndEnd(ending);

    expect(code).toBe(expectedCode);
    if (ending === 'throw') expect(stderr).toContain('boom');
    expectEveryLineInOrder(linesOf(stdout));
  }, 30_000);

  it('go to a blocking pipe, so a full pipe is waited for rather than retried every 100 ms', async () => {
    const { stderr } = await logAndEnd('loop runs dry');
    const stdoutFlags = parseInt(/FLAGS (\d+)/.exec(stderr)?.[1] ?? 'NaN', 8);

    expect(Number.isInteger(stdoutFlags)).toBe(true);
    expect(stdoutFlags & O_NONBLOCK).toBe(0);
  }, 30_000);

  it('logged from an exit listener registered after the logger still arrive', async () => {
    const { code, stdout } = await runLoggingScript(`
      logger.info('before exit');
      process.on('exit', () => logger.info('exiting'));
      setImmediate(() => process.exit(0));`);

    expect(code).toBe(0);
    expect(linesOf(stdout).map((line) => (JSON.parse(line) as { msg: string }).msg)).toEqual(['before exit', 'exiting']);
  }, 30_000);

  it('that cannot be written (a full disk) end the process instead of hanging it at exit', async () => {
    const full = fs.openSync('/dev/full', 'w');
    try {
      const { code, signal, stderr } = await runLoggingScript(`logger.info('nowhere to go'); setImmediate(() => process.exit(0));`, { stdout: full });

      expect(signal).toBeNull();
      expect(code).not.toBe(0);
      expect(stderr).toContain('ENOSPC');
    } finally {
      fs.closeSync(full);
    }
  }, 30_000);

  it('go to a pipe made blocking again when another process sharing it made it non-blocking', async () => {
    // A second Node process on the same pipe (as \`npm start\` is) makes it non-blocking by touching
    // its standard output; the 20 000 lines then meet a full pipe, which is made blocking again.
    const { code, stdout, stderr } = await runLoggingScript(`
      const fs = require('node:fs');
      const { spawn } = require('node:child_process');
      ${READ_STDOUT_FLAGS}
      const sibling = spawn(process.execPath, ['-e', "process.stdout; process.stderr.write('ready'); setInterval(() => {}, 1000)"], {
        stdio: ['ignore', 'inherit', 'pipe'],
      });
      sibling.stderr.once('data', () => {
        fs.writeSync(2, 'AFTER_SIBLING ' + (stdoutFlags() & ${O_NONBLOCK}) + '\\n');
        const pad = 'x'.repeat(250);
        for (let n = 0; n < ${LINES}; n += 1) logger.info({ n, pad }, 'line ' + n);
        setImmediate(() => {
          fs.writeSync(2, 'AFTER_LINES ' + (stdoutFlags() & ${O_NONBLOCK}) + '\\n');
          sibling.kill();
        });
      });`);

    expect(code).toBe(0);
    expect(stderr).toContain(`AFTER_SIBLING ${O_NONBLOCK}`);
    expect(stderr).toContain('AFTER_LINES 0');
    expectEveryLineInOrder(linesOf(stdout));
  }, 30_000);

  it('of earlier turns survive a SIGKILL; only the turn it lands in is lost', async () => {
    const { signal, stdout } = await runLoggingScript(`
      for (let n = 0; n < 1000; n += 1) logger.info({ n }, 'written');
      setImmediate(() => {
        logger.info({ n: 1000 }, 'still waiting for the end of its turn');
        process.kill(process.pid, 'SIGKILL');
      });`);

    expect(signal).toBe('SIGKILL');
    expect(linesOf(stdout).map((line) => (JSON.parse(line) as { n: number }).n)).toEqual(Array.from({ length: 1000 }, (_, n) => n));
  }, 30_000);

  it('wait for a reader that stops reading, and lose nothing', async () => {
    const pauseMs = 1_500;
    const { code, stdout, elapsedMs } = await logAndEnd('exit', { pauseReadingMs: pauseMs });

    expect(code).toBe(3);
    expect(elapsedMs).toBeGreaterThanOrEqual(pauseMs);
    expectEveryLineInOrder(linesOf(stdout));
  }, 30_000);
});
