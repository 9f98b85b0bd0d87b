import { Logger } from '@nestjs/common';

/** A level of Nest's `Logger` a test can record. */
export type LogLevel = 'log' | 'warn' | 'debug' | 'error' | 'verbose';

/**
 * Records every message Nest's `Logger` is given at `levels` as a `<level> <message>` line, instead
 * of printing it, so a test can assert what was logged (and what never was: secrets).
 * `jest.restoreAllMocks()` stops the recording.
 */
export function recordLogLines(levels: readonly LogLevel[]): string[] {
  const lines: string[] = [];
  for (const level of levels) {
    jest.spyOn(Logger.prototype, level).mockImplementation((...[message]: [unknown, ...unknown[]]) => {
      lines.push(`${level} ${String(message)}`);
    });
  }
  return lines;
}
