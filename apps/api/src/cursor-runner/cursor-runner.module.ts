import { Module } from '@nestjs/common';
import { CacheModule } from '@app/cache';
import { AppConfig } from '@app/config';
import { CURSOR_RUNNER_CACHE } from './cursor-runner.cache';
import { CursorRunnerClient } from './cursor-runner.client';
import { CursorRunnerController, CursorRunnerRepositoriesController } from './cursor-runner.controller';
import { HttpCursorRunnerClient } from './http-cursor-runner.client';

/**
 * cursor-runner, the coding-agent service: the injectable {@link CursorRunnerClient} (one
 * keep-alive connection pool per process) and the operator proxy routes under `/cursor-runner/cursor`
 * and `/cursor-runner/repositories`.
 */
@Module({
  imports: [CacheModule.forFeature(CURSOR_RUNNER_CACHE)],
  controllers: [CursorRunnerController, CursorRunnerRepositoriesController],
  providers: [{ provide: CursorRunnerClient, inject: [AppConfig], useFactory: HttpCursorRunnerClient.fromConfig }],
  exports: [CursorRunnerClient],
})
export class CursorRunnerModule {}
