import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { AGENT_TOOL, argumentsJsonSchema, type ToolDefinition, type ToolHandler } from './agent-tool';

/** A tool as callers see it in `GET /agent-tools`. */
export interface ToolDescription {
  name: string;
  description: string;
  /** JSON Schema (draft 2020-12) of the arguments, derived from the tool's zod schema. */
  args: Record<string, unknown>;
}

export interface RegisteredTool {
  definition: ToolDefinition;
  handler: ToolHandler;
  description: ToolDescription;
}

/**
 * Every `@AgentTool` provider of the application, keyed by tool name. Built once, when the
 * application boots (a duplicate name or a request-scoped tool stops the boot), and memoized:
 * routing a call is one map lookup, never a scan of the DI container.
 */
@Injectable()
export class ToolRegistry implements OnApplicationBootstrap {
  private readonly logger = new Logger('ToolRouter');
  private registered?: ReadonlyMap<string, RegisteredTool>;

  constructor(private readonly discovery: DiscoveryService) {}

  onApplicationBootstrap(): void {
    this.tools();
  }

  /** The registry, discovered on first use and kept. */
  tools(): ReadonlyMap<string, RegisteredTool> {
    this.registered ??= this.discover();
    return this.registered;
  }

  find(name: string): RegisteredTool | undefined {
    return this.tools().get(name);
  }

  /** Every tool, by name. */
  describe(): ToolDescription[] {
    return [...this.tools().values()].map((tool) => tool.description);
  }

  private discover(): ReadonlyMap<string, RegisteredTool> {
    const found = new Map<string, RegisteredTool & { provider: string }>();
    for (const wrapper of this.discovery.getProviders({ metadataKey: AGENT_TOOL.KEY })) {
      const definition = this.discovery.getMetadataByDecorator(AGENT_TOOL, wrapper);
      if (!definition) continue;
      if (!wrapper.isDependencyTreeStatic() || !wrapper.instance) {
        throw new Error(`Agent tool "${definition.name}" (${String(wrapper.name)}) must be a singleton provider`);
      }
      const previous = found.get(definition.name);
      if (previous) {
        throw new Error(
          `Agent tool "${definition.name}" is declared twice, by ${previous.provider} and ${String(wrapper.name)}`,
        );
      }
      found.set(definition.name, {
        provider: String(wrapper.name),
        definition,
        handler: wrapper.instance as ToolHandler,
        description: {
          name: definition.name,
          description: definition.description,
          args: argumentsJsonSchema(definition),
        },
      });
    }
    const names = [...found.keys()].sort();
    this.logger.log(`Registered ${names.length} agent tools: ${names.join(', ')}`);
    return new Map(names.map((name) => [name, found.get(name)!]));
  }
}
