import { Module } from '@nestjs/common';
import { CacheModule } from '@app/cache';
import { TASKS_CACHE } from './tasks.cache';
import { TasksService } from './tasks.service';

/** The shared task queue; no routes of its own (cursor-runner serves `/api/tasks`), the agent tools use it. */
@Module({
  imports: [CacheModule.forFeature(TASKS_CACHE)],
  providers: [TasksService],
  exports: [TasksService],
})
export class TasksModule {}
