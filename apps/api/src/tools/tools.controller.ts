import { BadRequestException, Body, Controller, Get, HttpCode, NotFoundException, Post, UseGuards } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { HttpCached } from '@app/cache';
import { ApiErrors, errorBody } from '@app/http';
import { AgentToolsSecretGuard } from './agent-tools-secret.guard';
import { parseToolCall } from './tool-call';
import { ToolRegistry, type ToolDescription } from './tool-registry';
import { InvalidToolArgumentsError, ToolRouter, UnknownToolError } from './tool-router';
import { TOOLS_CACHE } from './tools.cache';
import { TOOL_LIST_SCHEMA, TOOL_RESPONSE_SCHEMA } from './tools.openapi';

/** The response of `POST /agent-tools`: `{ok, say, result}`. */
export interface ToolResponse {
  ok: boolean;
  say: string;
  result: unknown;
}

/**
 * Tool calls from the ElevenLabs conversational agent, run synchronously.
 * A call the router could run answers 200 with its `ok`; an unknown tool 404; bad input 400.
 */
@ApiTags('agent tools')
@Controller('agent-tools')
@UseGuards(AgentToolsSecretGuard)
export class ToolsController {
  constructor(
    private readonly router: ToolRouter,
    private readonly registry: ToolRegistry,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Runs one tool call from the ElevenLabs agent; `ok` says whether the tool succeeded' })
  @ApiOkResponse({ schema: TOOL_RESPONSE_SCHEMA })
  @ApiErrors({ 404: 'No tool has this name.' })
  @HttpCode(200)
  async call(@Body() body: unknown): Promise<ToolResponse> {
    const call = parseToolCall(body);
    try {
      const result = await this.router.route(call.tool, call.args, { conversationId: call.conversationId });
      return { ok: result.ok, say: result.say, result: result.data };
    } catch (error) {
      if (error instanceof UnknownToolError) {
        throw new NotFoundException(errorBody(error.message, 'Unknown tool'));
      }
      if (error instanceof InvalidToolArgumentsError) {
        throw new BadRequestException(errorBody(error.message, 'Invalid arguments', { fields: error.problems }));
      }
      throw error;
    }
  }

  /** Every tool with its one-line description and the JSON Schema of its arguments. */
  @Get()
  @ApiOperation({ summary: 'Every tool with its description and the JSON Schema of its arguments' })
  @ApiOkResponse({ schema: TOOL_LIST_SCHEMA })
  @HttpCached({ namespace: TOOLS_CACHE })
  list(): { tools: ToolDescription[] } {
    return { tools: this.registry.describe() };
  }
}
