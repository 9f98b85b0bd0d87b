/**
 * Where `npm run bench` runs its processes: every HTTP variant's server on one CPU and the load
 * generator on another, with util-linux's `taskset`, when this process may run on two or more CPUs.
 * Unpinned, the scheduler moves a server and wrk between the two CPUs of the machines this bench runs
 * on, and a server's compiler and collector threads land next to wrk for some measurements and not
 * others; pinned, every variant is measured on the same CPU, beside the same idle servers (one of
 * them itself, for this app's variants), with wrk on the other (docs/benchmarks.md, "How a target is read"). `BENCH_PIN_CPUS=off` leaves the
 * processes to the scheduler. Redis is not pinned: it may be a server this bench did not start.
 */
import { execFileSync } from 'node:child_process';

export interface CpuPinning {
  /** The CPU every variant's server process (and each of its threads) runs on. */
  serverCpu: number;
  /** The CPU the load generator runs on. */
  loadCpu: number;
}

/** Whether `command` is on PATH. */
export function onPath(command: string): boolean {
  try {
    return execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim() !== '';
  } catch {
    return false;
  }
}

/** The CPUs this process may run on, from `taskset -cp` ("pid 42's current affinity list: 0-3,6"); none if it cannot tell. */
function allowedCpus(): number[] {
  let report: string;
  try {
    report = execFileSync('taskset', ['-cp', String(process.pid)], { encoding: 'utf8' });
  } catch {
    return [];
  }
  const list = report.slice(report.lastIndexOf(':') + 1).trim();
  return list.split(',').flatMap((part) => {
    const [first, last = first] = part.split('-').map(Number);
    return Array.from({ length: last - first + 1 }, (_, index) => first + index);
  });
}

/** The first two CPUs this process may use, or undefined when pinning is off, impossible or pointless. */
export function cpuPinning(): CpuPinning | undefined {
  if (process.env.BENCH_PIN_CPUS === 'off' || !onPath('taskset')) return undefined;
  const [loadCpu, serverCpu] = allowedCpus();
  return serverCpu === undefined ? undefined : { serverCpu, loadCpu };
}

/** The command prefix that runs a program on `cpu` only. */
export const onCpu = (cpu: number): string[] => ['taskset', '--cpu-list', String(cpu)];

export const describePinning = (pinning: CpuPinning | undefined): string =>
  pinning ? `servers on CPU ${pinning.serverCpu}, load generator on CPU ${pinning.loadCpu}` : 'processes not pinned to CPUs';
