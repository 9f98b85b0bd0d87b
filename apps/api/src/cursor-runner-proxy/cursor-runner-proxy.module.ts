import { Module } from '@nestjs/common';
import { CacheModule } from '@app/cache';
import { CursorRunnerClientModule } from '../adapters/cursor-runner';
import { ConversationModule } from '../conversation';
import { CURSOR_RUNNER_CACHE } from './cursor-runner.cache';
import {
  CursorRunnerController,
  CursorRunnerRepositoriesController,
  CursorRunnerRequestsController,
} from './cursor-runner.controller';

/**
 * The operator proxy to cursor-runner, the coding-agent service: routes under
 * `/cursor-runner/cursor`, `/cursor-runner/repositories` and `/cursor-runner/requests` over the
 * cursor-runner adapter's client and the conversation's pending requests.
 */
@Module({
  imports: [CacheModule.forFeature(CURSOR_RUNNER_CACHE), CursorRunnerClientModule, ConversationModule],
  controllers: [CursorRunnerController, CursorRunnerRepositoriesController, CursorRunnerRequestsController],
})
export class CursorRunnerProxyModule {}
