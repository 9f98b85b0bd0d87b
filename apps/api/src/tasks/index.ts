export { TasksModule } from './tasks.module';
export { TasksService, type NewTask, type TaskListQuery, type TaskRecord, type TaskRef } from './tasks.service';
export { TASK_STATUSES, taskStatusCode, taskStatusLabel, type TaskStatusName } from './task-status';
