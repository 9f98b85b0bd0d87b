import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { freePort } from '../redis-server';

const ROOT = path.resolve(__dirname, '../../..');
const MAIN = path.join(ROOT, 'apps/api/src/main.ts');

export interface AppProcessOptions {
  /** Environment of the app (on top of PATH/HOME); PORT and HOST are chosen here. */
  env: Record<string, string>;
  /** How long the app may take to answer `GET /health/live`, in milliseconds. */
  readyWithinMs?: number;
  /**
   * A compiled entry point run with plain `node` (the build's `main.js`, as production runs it);
   * without it, `main.ts` through @swc-node/register.
   */
  script?: string;
}

/**
 * The real application in a child process (`main.ts` through @swc-node/register, as the benchmarks
 * run it), so a test can kill it the way an operator's worst day does: SIGKILL mid-work, SIGTERM.
 * Its JSON log lines are kept for assertions.
 */
export class AppProcess {
  readonly lines: Record<string, unknown>[] = [];
  private exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
  ) {
    this.exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    let partial = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        try {
          this.lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          this.lines.push({ msg: line });
        }
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => this.lines.push({ stderr: chunk }));
  }

  /** Starts the app on a free port and resolves once it is live; rejects with its output otherwise. */
  static async start(options: AppProcessOptions): Promise<AppProcess> {
    const port = await freePort();
    const args = options.script ? [options.script] : ['-r', '@swc-node/register', MAIN];
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        NODE_ENV: 'test',
        LOG_LEVEL: 'info',
        ...options.env,
        PORT: String(port),
        HOST: '127.0.0.1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const app = new AppProcess(child, port);
    await app.waitUntilLive(options.readyWithinMs ?? 30_000);
    return app;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends `signal` and resolves with how the process ended. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) this.child.kill(signal);
    return this.exit;
  }

  /** Log lines whose `msg` contains `text`. */
  logged(text: string): Record<string, unknown>[] {
    return this.lines.filter((line) => typeof line.msg === 'string' && line.msg.includes(text));
  }

  private async waitUntilLive(withinMs: number): Promise<void> {
    const deadline = Date.now() + withinMs;
    while (Date.now() < deadline) {
      if (!this.running) break;
      try {
        const response = await fetch(`${this.baseUrl}/health/live`, { signal: AbortSignal.timeout(1_000) });
        if (response.ok) return;
      } catch {
        // Not listening yet.
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await this.kill('SIGKILL');
    const output = this.lines.map((line) => JSON.stringify(line)).join('\n').slice(-4_000);
    throw new Error(`The app did not become live within ${withinMs} ms:\n${output}`);
  }
}
