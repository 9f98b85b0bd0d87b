import { TASK_STATUSES, taskStatusCode, taskStatusLabel } from './task-status';

describe('task statuses', () => {
  it('name the stored codes 0-4 as cursor-runner and cursor-agents do', () => {
    expect(TASK_STATUSES.map((name) => [taskStatusCode(name), name])).toEqual([
      [0, 'ready'],
      [1, 'complete'],
      [2, 'archived'],
      [3, 'backlogged'],
      [4, 'in_progress'],
    ]);
    expect(TASK_STATUSES.map((_name, code) => taskStatusLabel(code))).toEqual([...TASK_STATUSES]);
  });

  it.each([-1, 5, 99])('label a code another service invented (%i) as unknown', (code) => {
    expect(taskStatusLabel(code)).toBe('unknown');
  });
});
