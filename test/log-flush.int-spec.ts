import { spawn } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
/** About 6 MB of lines: far past a pipe's 64 KiB, so writes meet a full pipe. */
const LINES = 20_000;
/** `O_NONBLOCK` in the octal flags of /proc/<pid>/fdinfo/<fd>. */
const O_NONBLOCK = 0o4000;

type Ending = 'exit' | 'throw' | 'loop runs dry';

interface Logged {
  code: number | null;
  lines: string[];
  stderr: string;
  /** The flags of the child's standard output once its logger existed. */
  stdoutFlags: number;
  elapsedMs: number;
}

/**
 * A process that logs `LINES` lines through the app's production logger (standard output, batched
 * per turn: libs/logging/src/batched-destination.ts), the last half in the same turn as its end.
 * `pauseReadingMs`: the parent stops reading the pipe for that long once the first lines arrive.
 */
function logAndEnd(ending: Ending, pauseReadingMs = 0): Promise<Logged> {
  const script = `
    const fs = require('node:fs');
    const { createAppLogger } = require('./libs/logging/src/app-logger');
    const logger = createAppLogger({ env: 'production', logLevel: 'info', app: { name: 'log-flush' } });
    const flags = /flags:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/fdinfo/1', 'utf8'))[1];
    fs.writeSync(2, 'FLAGS ' + flags + '\\n');
    const pad = 'x'.repeat(250);
    const logSome = (from, to) => { for (let n = from; n < to; n += 1) logger.info({ n, pad }, 'line ' + n); };
    logSome(0, ${LINES / 2});
    setImmediate(() => {
      logSome(${LINES / 2}, ${LINES});
      if (process.env.ENDING === 'exit') process.exit(3);
      if (process.env.ENDING === 'throw') throw new Error('boom');
    });`;
  const started = Date.now();
  const child = spawn(process.execPath, ['-r', '@swc-node/register', '-e', script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ENDING: ending },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let paused = false;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (pauseReadingMs > 0 && !paused) {
      paused = true;
      child.stdout.pause();
      setTimeout(() => child.stdout.resume(), pauseReadingMs);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve) =>
    child.once('close', (code) =>
      resolve({
        code,
        lines: stdout.split('\n').filter(Boolean),
        stderr,
        stdoutFlags: parseInt(/FLAGS (\d+)/.exec(stderr)?.[1] ?? 'NaN', 8),
        elapsedMs: Date.now() - started,
      }),
    ),
  );
}

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
    const { code, lines, stderr } = await logAndEnd(ending);

    expect(code).toBe(expectedCode);
    if (ending === 'throw') expect(stderr).toContain('boom');
    expectEveryLineInOrder(lines);
  }, 30_000);

  it('go to a blocking pipe, so a full pipe is waited for rather than retried every 100 ms', async () => {
    const { stdoutFlags } = await logAndEnd('loop runs dry');

    expect(Number.isInteger(stdoutFlags)).toBe(true);
    expect(stdoutFlags & O_NONBLOCK).toBe(0);
  }, 30_000);

  it('wait for a reader that stops reading, and lose nothing', async () => {
    const pauseMs = 1_500;
    const { code, lines, elapsedMs } = await logAndEnd('exit', pauseMs);

    expect(code).toBe(3);
    expect(elapsedMs).toBeGreaterThanOrEqual(pauseMs);
    expectEveryLineInOrder(lines);
  }, 30_000);
});
