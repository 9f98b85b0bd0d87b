import type { INestApplicationContext } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { AGENT_TOOL, argumentsJsonSchema, type ToolDefinition } from './agent-tool';

/** Every `@AgentTool` the application composes, read from the classes (works on a preview app). */
function toolDefinitions(app: INestApplicationContext): ToolDefinition[] {
  const definitions: ToolDefinition[] = [];
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.providers.values()) {
      const definition = wrapper.metatype
        ? (Reflect.getMetadata(AGENT_TOOL.KEY, wrapper.metatype) as ToolDefinition | undefined)
        : undefined;
      if (definition) definitions.push(definition);
    }
  }
  return definitions.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The body of `POST /agent-tools`: one alternative per tool, its `args` the JSON Schema zod derives
 * from the tool's own schema (the one calls are validated with).
 */
export function toolCallSchema(app: INestApplicationContext): SchemaObject {
  return {
    oneOf: toolDefinitions(app).map((definition) => ({
      type: 'object',
      title: definition.name,
      description: definition.description,
      required: ['tool'],
      properties: {
        tool: { enum: [definition.name] },
        args: argumentsJsonSchema(definition),
        conversation_id: { type: 'string', description: 'The ElevenLabs conversation the call belongs to.' },
      },
    })),
  };
}

/** The answer of `POST /agent-tools` (`ToolResponse`). */
export const TOOL_RESPONSE_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['ok', 'say', 'result'],
  properties: { ok: { type: 'boolean' }, say: { type: 'string' }, result: { description: "The tool's data." } },
};

/** The answer of `GET /agent-tools`. */
export const TOOL_LIST_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['tools'],
  properties: {
    tools: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'description', 'args'],
        properties: { name: { type: 'string' }, description: { type: 'string' }, args: { type: 'object' } },
      },
    },
  },
};
