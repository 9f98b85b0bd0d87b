import { z } from 'zod';
import { TASK_STATUSES, taskStatusCode, TasksService, type TaskRecord, type TaskRef } from '../../tasks';
import { AgentTool, type ToolHandler, type ToolOutput } from '../agent-tool';
import { expecting, WELL_FORMED } from '../tool-args';
import { ToolError } from '../tool-error';

const STATUS_RULE = `must be a status code 0-${TASK_STATUSES.length - 1} or one of ${TASK_STATUSES.join(', ')}`;

const status = z
  .union(
    [z.int().min(0, STATUS_RULE).max(TASK_STATUSES.length - 1, STATUS_RULE), z.enum(TASK_STATUSES)],
    expecting(STATUS_RULE),
  )
  .transform((value) => (typeof value === 'number' ? value : taskStatusCode(value)))
  .describe(TASK_STATUSES.map((name, code) => `${code} ${name}`).join(', '));

/** `id` or `uuid`, exactly one: the rule is checked on the object that holds them. */
const taskRefShape = {
  id: z.int(expecting('must be an integer')).positive('must be a positive integer').optional().describe('Task id'),
  uuid: z.string(expecting('must be a string')).min(1, 'must not be empty').optional().describe('Task uuid'),
};

function requireOneRef(value: { id?: number; uuid?: string }, context: z.RefinementCtx): void {
  if (value.id === undefined && value.uuid === undefined) {
    context.addIssue({ code: 'custom', path: ['id'], message: 'or uuid is required' });
  } else if (value.id !== undefined && value.uuid !== undefined) {
    context.addIssue({ code: 'custom', path: ['uuid'], message: 'cannot be given together with id' });
  }
}

function refOf(value: { id?: number; uuid?: string }): TaskRef {
  return value.id !== undefined ? { id: value.id } : { uuid: value.uuid! };
}

function describeRef(ref: TaskRef): string {
  return 'id' in ref ? `id ${ref.id}` : `uuid ${ref.uuid}`;
}

const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;

const ListTasksArgs = z.object({
  status: status.optional(),
  limit: z
    .int(expecting('must be an integer'))
    .min(1, 'must be between 1 and 100')
    .max(100, 'must be between 1 and 100')
    .default(20)
    .describe('Most tasks returned'),
});

@AgentTool({
  name: 'list_tasks',
  description: 'List tasks in queue order, optionally only those with one status.',
  args: ListTasksArgs,
})
export class ListTasksTool implements ToolHandler<typeof ListTasksArgs> {
  constructor(private readonly tasks: TasksService) {}

  async execute({ status, limit }: z.output<typeof ListTasksArgs>): Promise<ToolOutput> {
    const tasks = await this.tasks.list({ status, limit });
    const kind = status === undefined ? 'task' : `${TASK_STATUSES[status]} task`;
    return { say: `Found ${plural(tasks.length, kind)}.`, data: { tasks } };
  }
}

const GetTaskArgs = z.object(taskRefShape).superRefine(requireOneRef).describe('Give id or uuid.');

@AgentTool({ name: 'get_task', description: 'Show one task, by id or uuid.', args: GetTaskArgs })
export class GetTaskTool implements ToolHandler<typeof GetTaskArgs> {
  constructor(private readonly tasks: TasksService) {}

  async execute(args: z.output<typeof GetTaskArgs>): Promise<ToolOutput> {
    const ref = refOf(args);
    const task = await this.tasks.find(ref);
    if (!task) throw new ToolError(`There is no task with ${describeRef(ref)}.`, 'Task not found');
    return { say: `Task ${task.id} is ${task.status_label}: ${task.prompt}`, data: task };
  }
}

const CreateTaskArgs = z.object({
  prompt: z
    .string(expecting('must be a string'))
    .trim()
    .min(1, 'must not be empty')
    .max(20_000, 'must be at most 20000 characters')
    .refine(...WELL_FORMED)
    .describe('What the coding agent should do'),
  order: z.int(expecting('must be an integer')).optional().describe('Queue position, lower runs first (default 0)'),
  status: status.optional(),
});

@AgentTool({
  name: 'create_task',
  description: 'Add a task to the queue (status ready unless given).',
  args: CreateTaskArgs,
})
export class CreateTaskTool implements ToolHandler<typeof CreateTaskArgs> {
  constructor(private readonly tasks: TasksService) {}

  async execute(args: z.output<typeof CreateTaskArgs>): Promise<ToolOutput> {
    const task: TaskRecord = await this.tasks.create(args);
    return { say: `Created task ${task.id} (${task.status_label}).`, data: task };
  }
}

const UpdateTaskStatusArgs = z
  .object({ ...taskRefShape, status: status })
  .superRefine(requireOneRef)
  .describe('Give id or uuid, and the new status.');

@AgentTool({
  name: 'update_task_status',
  description: "Change a task's status (ready, complete, archived, backlogged, in_progress).",
  args: UpdateTaskStatusArgs,
})
export class UpdateTaskStatusTool implements ToolHandler<typeof UpdateTaskStatusArgs> {
  constructor(private readonly tasks: TasksService) {}

  async execute(args: z.output<typeof UpdateTaskStatusArgs>): Promise<ToolOutput> {
    const ref = refOf(args);
    const task = await this.tasks.updateStatus(ref, args.status);
    if (!task) throw new ToolError(`There is no task with ${describeRef(ref)}.`, 'Task not found');
    return { say: `Task ${task.id} is now ${task.status_label}.`, data: task };
  }
}
