import { Module } from '@nestjs/common';
import { AppConfig } from '@app/config';
import { CursorRunnerClient } from './cursor-runner.client';
import { CursorRunnerController } from './cursor-runner.controller';
import { HttpCursorRunnerClient } from './http-cursor-runner.client';

/**
 * cursor-runner, the coding-agent service: the injectable {@link CursorRunnerClient} (one
 * keep-alive connection pool per process) and the operator proxy routes under `/cursor-runner/cursor`.
 */
@Module({
  controllers: [CursorRunnerController],
  providers: [{ provide: CursorRunnerClient, inject: [AppConfig], useFactory: HttpCursorRunnerClient.fromConfig }],
  exports: [CursorRunnerClient],
})
export class CursorRunnerModule {}
