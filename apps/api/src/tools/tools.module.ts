import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { CacheModule } from '@app/cache';
import { SettingsModule } from '../settings';
import { TasksModule } from '../tasks';
import { AgentToolsSecretGuard } from './agent-tools-secret.guard';
import { GetSettingTool, SetSettingTool } from './handlers/setting.tools';
import { CreateTaskTool, GetTaskTool, ListTasksTool, UpdateTaskStatusTool } from './handlers/task.tools';
import { ToolRegistry } from './tool-registry';
import { ToolRouter } from './tool-router';
import { TOOLS_CACHE } from './tools.cache';
import { ToolsController } from './tools.controller';

/** `POST /agent-tools` and `GET /agent-tools`; each `@AgentTool` provider below is one tool. */
@Module({
  imports: [DiscoveryModule, CacheModule.forFeature(TOOLS_CACHE), SettingsModule, TasksModule],
  controllers: [ToolsController],
  providers: [
    AgentToolsSecretGuard,
    ToolRegistry,
    ToolRouter,
    GetSettingTool,
    SetSettingTool,
    ListTasksTool,
    GetTaskTool,
    CreateTaskTool,
    UpdateTaskStatusTool,
  ],
})
export class ToolsModule {}
