import { LONE_SURROGATE } from '@app/common';
import type { z } from 'zod';

/**
 * Error option for one argument's schema: `is required` when it is absent, else `expectation`
 * (`'must be a string'`). Messages are phrased to follow the argument's name.
 */
export function expecting(expectation: string): { error: (issue: z.core.$ZodRawIssue) => string } {
  return { error: (issue) => (issue.input === undefined ? 'is required' : expectation) };
}

/** One argument that failed validation. */
export interface ArgumentProblem {
  /** The argument's path (`name`, `status`), or `args` for the arguments as a whole. */
  field: string;
  /** A sentence naming the argument: `name must be 1-64 lowercase letters, digits or underscores`. */
  message: string;
}

export function argumentProblems(error: z.ZodError): ArgumentProblem[] {
  return error.issues.map((issue) => {
    const field = issue.path.length > 0 ? issue.path.map(String).join('.') : 'args';
    return { field, message: `${field} ${issue.message}` };
  });
}

/** Refines a string argument stored in the shared database: UTF-8 cannot carry a lone surrogate. */
export const WELL_FORMED: [(value: string) => boolean, string] = [
  (value) => !LONE_SURROGATE.test(value),
  'must not contain a lone UTF-16 surrogate (a \\ud800-\\udfff escape without its pair), which UTF-8 cannot store',
];
