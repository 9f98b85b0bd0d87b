import { Module } from '@nestjs/common';
import { CacheModule } from '@app/cache';
import { CursorRunnerClientModule } from '../adapters/cursor-runner';
import { CURSOR_RUNNER_CACHE } from './cursor-runner.cache';
import { CursorRunnerController, CursorRunnerGitController } from './cursor-runner.controller';

/**
 * The operator proxy to cursor-runner, the coding-agent service: routes under
 * `/cursor-runner/cursor` and `/cursor-runner/git` over the cursor-runner adapter's client.
 */
@Module({
  imports: [CacheModule.forFeature(CURSOR_RUNNER_CACHE), CursorRunnerClientModule],
  controllers: [CursorRunnerController, CursorRunnerGitController],
})
export class CursorRunnerProxyModule {}
