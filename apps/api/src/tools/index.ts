export { ToolsModule } from './tools.module';
export { AgentTool, type ToolHandler, type ToolOutput } from './agent-tool';
export { ToolRegistry } from './tool-registry';
export { AgentToolsSecretGuard } from './agent-tools-secret.guard';
export { toolCallSchema } from './tools.openapi';
