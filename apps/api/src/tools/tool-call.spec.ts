import { BadRequestException } from '@nestjs/common';
import { RequestValidationException } from '@app/http';
import { MISSING_TOOL_BODY, parseToolCall } from './tool-call';

describe('parseToolCall', () => {
  it('reads tool, args and conversation_id', () => {
    expect(parseToolCall({ tool: 'get_task', args: { id: 1 }, conversation_id: 'c-9' })).toEqual({
      tool: 'get_task',
      args: { id: 1 },
      conversationId: 'c-9',
    });
  });

  it('treats absent or null args and conversation_id as none', () => {
    expect(parseToolCall({ tool: 'list_tasks' })).toEqual({ tool: 'list_tasks', args: {}, conversationId: undefined });
    expect(parseToolCall({ tool: 'list_tasks', args: null, conversation_id: null })).toEqual({
      tool: 'list_tasks',
      args: {},
      conversationId: undefined,
    });
  });

  it.each([undefined, null, 'get_task', [], {}, { tool: '' }, { tool: ' \t' }, { tool: null }])(
    'answers the missing-tool body for %p',
    (body) => {
      const failure = (() => {
        try {
          parseToolCall(body);
        } catch (error) {
          return error;
        }
      })();
      expect(failure).toBeInstanceOf(BadRequestException);
      expect((failure as BadRequestException).getResponse()).toEqual(MISSING_TOOL_BODY);
    },
  );

  it('names each parameter of the wrong type', () => {
    expect(() => parseToolCall({ tool: ['a'], args: 3, conversation_id: {} })).toThrow(RequestValidationException);
    try {
      parseToolCall({ tool: ['a'], args: 3, conversation_id: {} });
    } catch (error) {
      expect((error as RequestValidationException).problems).toEqual([
        { field: 'tool', message: 'tool must be a string' },
        { field: 'args', message: 'args must be an object' },
        { field: 'conversation_id', message: 'conversation_id must be a string' },
      ]);
    }
  });
});
