export { ToolsModule } from './tools.module';
export { AgentTool, type ToolHandler, type ToolOutput } from './agent-tool';
export { ToolRegistry } from './tool-registry';
