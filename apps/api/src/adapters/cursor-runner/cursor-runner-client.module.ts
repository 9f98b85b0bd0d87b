import { Module } from '@nestjs/common';
import { AppConfig } from '@app/config';
import { CursorRunnerClient } from './cursor-runner.client';
import { HttpCursorRunnerClient } from './http-cursor-runner.client';

/** The cursor-runner adapter: the injectable {@link CursorRunnerClient}, one keep-alive pool per process. */
@Module({
  providers: [{ provide: CursorRunnerClient, inject: [AppConfig], useFactory: HttpCursorRunnerClient.fromConfig }],
  exports: [CursorRunnerClient],
})
export class CursorRunnerClientModule {}
