/** Task status names by their stored code (docs/database.md, "tasks"): 0 ready … 4 in_progress. */
export const TASK_STATUSES = ['ready', 'complete', 'archived', 'backlogged', 'in_progress'] as const;

export type TaskStatusName = (typeof TASK_STATUSES)[number];

/** The name of a stored status code; `unknown` for a code another service invented. */
export function taskStatusLabel(code: number): TaskStatusName | 'unknown' {
  return TASK_STATUSES[code] ?? 'unknown';
}

/** The stored code of a status name. */
export function taskStatusCode(name: TaskStatusName): number {
  return TASK_STATUSES.indexOf(name);
}
