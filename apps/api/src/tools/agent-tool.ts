import { Injectable } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { z } from 'zod';

/** What a tool call carries besides its arguments. */
export interface ToolContext {
  /** The ElevenLabs conversation the call belongs to, when the caller sent one. */
  conversationId?: string;
}

/** A tool's successful answer: a sentence for the person (`say`) and data for the agent. */
export interface ToolOutput {
  say: string;
  data: unknown;
}

/**
 * A tool's contract. `args` is the one definition of its arguments: calls are validated with it and
 * `GET /agent-tools` publishes it as JSON Schema.
 */
export interface ToolDefinition<Args extends z.ZodType = z.ZodType> {
  /** Name callers send as `tool` (snake_case). */
  name: string;
  /** One line saying what the tool does, for the agent choosing a tool. */
  description: string;
  args: Args;
}

/** JSON Schema (draft 2020-12) of the arguments a caller sends, derived from the tool's zod schema. */
export function argumentsJsonSchema(definition: ToolDefinition): Record<string, unknown> {
  return z.toJSONSchema(definition.args, { io: 'input' });
}

/** Runs a tool with arguments already validated (and defaulted) by its schema. */
export interface ToolHandler<Args extends z.ZodType = z.ZodType> {
  execute(args: z.output<Args>, context: ToolContext): Promise<ToolOutput>;
}

/** The discoverable marker {@link ToolRegistry} looks providers up by. */
export const AGENT_TOOL = DiscoveryService.createDecorator<ToolDefinition>();

/**
 * Declares an agent tool. The class becomes an injectable provider; list it in a module's
 * `providers` and the tool router finds it at startup, so adding a tool is adding one class. The
 * class must handle exactly the arguments its schema produces (checked by the compiler).
 *
 * @example
 *   @AgentTool({ name: 'get_setting', description: 'Whether a setting is enabled.', args: GetSettingArgs })
 *   export class GetSettingTool implements ToolHandler<typeof GetSettingArgs> { … }
 */
export function AgentTool<Args extends z.ZodType>(definition: ToolDefinition<Args>) {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a class constructor is matched whatever it injects; `unknown[]` parameters would reject every concrete one
  return <Class extends new (...dependencies: any[]) => ToolHandler<Args>>(target: Class): void => {
    Injectable()(target);
    AGENT_TOOL(definition as ToolDefinition)(target);
  };
}
