import { BadRequestException } from '@nestjs/common';
import { errorBody, RequestValidationException } from '@app/http';
import { z } from 'zod';

/** A parsed `POST /agent-tools` body. */
export interface ToolCall {
  tool: string;
  args: Record<string, unknown>;
  conversationId?: string;
}

/** The answer to a call without a tool: 400 with this body, which the agent's tool client expects. */
export const MISSING_TOOL_BODY = errorBody('Missing required parameter: tool', 'tool parameter is required');

const toolCallSchema = z.object({
  tool: z.string({ error: 'must be a string' }),
  args: z
    .record(z.string(), z.unknown(), { error: 'must be an object' })
    .nullish()
    .transform((args) => args ?? {}),
  conversation_id: z
    .string({ error: 'must be a string' })
    .nullish()
    .transform((id) => id ?? undefined),
});

/**
 * Reads `{tool, args?, conversation_id?}`. A missing or blank `tool` gets that 400 body;
 * other wrong types get a 400 naming the parameter.
 */
export function parseToolCall(body: unknown): ToolCall {
  const fields = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
  if (fields.tool === undefined || fields.tool === null || (typeof fields.tool === 'string' && fields.tool.trim() === '')) {
    throw new BadRequestException(MISSING_TOOL_BODY);
  }
  const parsed = toolCallSchema.safeParse(fields);
  if (!parsed.success) {
    throw new RequestValidationException(
      parsed.error.issues.map((issue) => {
        const field = issue.path.map(String).join('.');
        return { field, message: `${field} ${issue.message}` };
      }),
    );
  }
  return { tool: parsed.data.tool, args: parsed.data.args, conversationId: parsed.data.conversation_id };
}
