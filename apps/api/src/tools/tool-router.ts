import { Injectable, Logger } from '@nestjs/common';
import type { ToolContext } from './agent-tool';
import { argumentProblems, type ArgumentProblem } from './tool-args';
import { ToolError } from './tool-error';
import { ToolRegistry } from './tool-registry';

/** The router's answer to a call it could run: `{ok, say, data}`. */
export interface ToolResult {
  ok: boolean;
  say: string;
  data: unknown;
}

export class UnknownToolError extends Error {
  override readonly name = 'UnknownToolError';

  constructor(readonly tool: string) {
    super(`Unknown tool: ${tool}`);
  }
}

export class InvalidToolArgumentsError extends Error {
  override readonly name = 'InvalidToolArgumentsError';

  constructor(
    readonly tool: string,
    readonly problems: ArgumentProblem[],
  ) {
    super(`Invalid arguments for ${tool}: ${problems.map((problem) => problem.message).join('; ')}`);
  }
}

/** What a caller is told when a handler fails unexpectedly; the details stay in the log. */
export const TOOL_FAILED_REASON = 'Tool execution failed';

/**
 * Routes a tool call to its handler: validates the arguments
 * with the tool's schema, runs it, and turns a failure into `{ok: false, say, data: {error}}`.
 */
@Injectable()
export class ToolRouter {
  private readonly logger = new Logger('ToolRouter');

  constructor(private readonly registry: ToolRegistry) {}

  /**
   * @throws UnknownToolError when no tool has that name.
   * @throws InvalidToolArgumentsError naming each argument that failed validation.
   */
  async route(tool: string, args: Record<string, unknown>, context: ToolContext = {}): Promise<ToolResult> {
    const registered = this.registry.find(tool);
    if (!registered) {
      this.logger.warn(`Unknown tool requested: ${tool}`);
      throw new UnknownToolError(tool);
    }
    const parsed = registered.definition.args.safeParse(args);
    if (!parsed.success) throw new InvalidToolArgumentsError(tool, argumentProblems(parsed.error));
    this.logger.log({ conversationId: context.conversationId }, `Executing tool ${tool}`);
    try {
      const output = await registered.handler.execute(parsed.data, context);
      return { ok: true, say: output.say, data: output.data };
    } catch (error) {
      if (error instanceof ToolError) return { ok: false, say: error.say, data: { error: error.reason } };
      this.logger.error({ err: error, conversationId: context.conversationId }, `Tool ${tool} failed`);
      return { ok: false, say: `Sorry, the ${tool} tool failed.`, data: { error: TOOL_FAILED_REASON } };
    }
  }
}
