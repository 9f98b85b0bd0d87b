import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Cacheable, CacheEvict } from '@app/cache';
import { isRecordNotFound, PrismaService, shownTimestamp, sqliteTimestamp, type Task } from '@app/prisma';
import { taskStatusLabel, type TaskStatusName } from './task-status';
import { TASKS_CACHE, TASKS_TAG } from './tasks.cache';

/** A `tasks` row as the API shows it, with the status's name as cursor-runner's `/api/tasks` does. */
export interface TaskRecord {
  id: number;
  uuid: string | null;
  prompt: string;
  order: number;
  status: number;
  status_label: TaskStatusName | 'unknown';
  created_at: string;
  updated_at: string;
}

/** A task by its row id or by its uuid. */
export type TaskRef = { id: number } | { uuid: string };

export interface TaskListQuery {
  /** Only tasks with this status code. Default: every status. */
  status?: number;
  /** Most rows returned. */
  limit: number;
}

export interface NewTask {
  prompt: string;
  /** Position in the operator's queue (lower runs first). Default 0. */
  order?: number;
  /** Status code. Default 0 (ready). */
  status?: number;
}

function toRecord(row: Task): TaskRecord {
  return {
    id: row.id,
    uuid: row.uuid,
    prompt: row.prompt,
    order: row.order,
    status: row.status,
    status_label: taskStatusLabel(row.status),
    created_at: shownTimestamp(row.createdAt),
    updated_at: shownTimestamp(row.updatedAt),
  };
}

const refKey = (ref: TaskRef): (string | number)[] => ('id' in ref ? ['id', ref.id] : ['uuid', ref.uuid]);

/**
 * The shared `tasks` table (docs/database.md, "tasks") that cursor-agents' task operator works through.
 * Queries are cached in the `tasks` namespace; every write through this service evicts them all.
 */
@Injectable()
export class TasksService {
  constructor(private readonly prisma: PrismaService) {}

  /** Tasks in queue order (`order`, then id), optionally of one status. Cached. */
  @Cacheable({
    namespace: TASKS_CACHE,
    key: (query: TaskListQuery) => ['list', query.status ?? 'any', query.limit],
    tags: [TASKS_TAG],
  })
  async list(query: TaskListQuery): Promise<TaskRecord[]> {
    const rows = await this.prisma.task.findMany({
      where: query.status === undefined ? {} : { status: query.status },
      orderBy: [{ order: 'asc' }, { id: 'asc' }],
      take: query.limit,
    });
    return rows.map(toRecord);
  }

  /** One task, or `null` (cached too, so a miss does not hit the database each time). */
  @Cacheable({ namespace: TASKS_CACHE, key: (ref: TaskRef) => refKey(ref), tags: [TASKS_TAG] })
  async find(ref: TaskRef): Promise<TaskRecord | null> {
    const row = await this.prisma.task.findUnique({ where: 'id' in ref ? { id: ref.id } : { uuid: ref.uuid } });
    return row ? toRecord(row) : null;
  }

  /** Inserts a task with a fresh uuid. */
  @CacheEvict({ namespace: TASKS_CACHE, tags: [TASKS_TAG] })
  async create(task: NewTask): Promise<TaskRecord> {
    const now = sqliteTimestamp();
    const row = await this.prisma.whileLocked(() =>
      this.prisma.task.create({
        data: {
          prompt: task.prompt,
          order: task.order ?? 0,
          status: task.status ?? 0,
          uuid: randomUUID(),
          createdAt: now,
          updatedAt: now,
        },
      }),
    );
    return toRecord(row);
  }

  /**
   * Sets a task's status with `updatedat` now and answers the row as that write left it; `null` when
   * there is no such task. One statement: an update and a read after it answered, now and then, what
   * another process (cursor-runner's tools) wrote in between.
   */
  @CacheEvict({ namespace: TASKS_CACHE, tags: [TASKS_TAG] })
  async updateStatus(ref: TaskRef, status: number): Promise<TaskRecord | null> {
    const where = 'id' in ref ? { id: ref.id } : { uuid: ref.uuid };
    try {
      return toRecord(await this.prisma.whileLocked(() => this.prisma.task.update({ where, data: { status, updatedAt: sqliteTimestamp() } })));
    } catch (error) {
      if (isRecordNotFound(error)) return null;
      throw error;
    }
  }
}
