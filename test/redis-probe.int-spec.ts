import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { CLOSED_PORT } from './support/redis-server';
import { testRedisUrl } from './support/test-app';

const ROOT = path.resolve(__dirname, '..');

/**
 * Runs `redisAnswers(url)` (test/support/redis-server.ts) in a process of its own and reports its
 * answer and how long the process lived after giving it: the probe runs in Jest's global setup and
 * before every Redis a test starts, so anything it leaves running keeps Jest from exiting.
 */
function probeInProcess(url: string): Promise<{ answer: string; exitedAfterMs: number }> {
  const child = spawn(
    process.execPath,
    ['-r', '@swc-node/register', '-e', `require('./test/support/redis-server').redisAnswers(${JSON.stringify(url)}, 500).then((answer) => console.log(answer))`],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let answer = '';
  let answeredAt = 0;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    answer += chunk;
    answeredAt ||= Date.now();
  });
  return new Promise((resolve) => child.once('exit', () => resolve({ answer: answer.trim(), exitedAfterMs: Date.now() - answeredAt })));
}

describe('the Redis probe of the tests and benchmarks', () => {
  it.each([
    ['a port where nothing listens', () => `redis://127.0.0.1:${CLOSED_PORT}`, 'false'],
    ['a live server', testRedisUrl, 'true'],
  ])('answers for %s and leaves nothing that keeps the process alive', async (_case, url, expected) => {
    const { answer, exitedAfterMs } = await probeInProcess(url());

    expect(answer).toBe(expected);
    // ioredis waits up to 2 s for a 'close' when a connection that never opened is disconnected.
    expect(exitedAfterMs).toBeLessThan(1_000);
  }, 30_000);
});
