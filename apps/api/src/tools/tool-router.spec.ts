import { DiscoveryModule } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { z } from 'zod';
import { AgentTool, type ToolContext, type ToolHandler, type ToolOutput } from './agent-tool';
import { expecting } from './tool-args';
import { ToolError } from './tool-error';
import { ToolRegistry } from './tool-registry';
import { InvalidToolArgumentsError, ToolRouter, UnknownToolError } from './tool-router';

const RepeatArgs = z.object({
  word: z.string(expecting('must be a string')),
  times: z.int(expecting('must be an integer')).min(1, 'must be at least 1').default(2),
});

@AgentTool({ name: 'repeat', description: 'Repeats a word.', args: RepeatArgs })
class RepeatTool implements ToolHandler<typeof RepeatArgs> {
  readonly calls: { args: z.output<typeof RepeatArgs>; context: ToolContext }[] = [];

  async execute(args: z.output<typeof RepeatArgs>, context: ToolContext): Promise<ToolOutput> {
    this.calls.push({ args, context });
    if (args.word === 'missing') throw new ToolError('I could not find that word.', 'Word not found');
    if (args.word === 'crash') throw new Error('disk /srv/data is full');
    return { say: Array(args.times).fill(args.word).join(' '), data: { times: args.times } };
  }
}

describe('ToolRouter', () => {
  let router: ToolRouter;
  let tool: RepeatTool;

  beforeAll(async () => {
    const module = await Test.createTestingModule({
      imports: [DiscoveryModule],
      providers: [ToolRegistry, ToolRouter, RepeatTool],
    }).compile();
    // The router logs the failures these cases provoke; the e2e suite checks those lines.
    module.useLogger(false);
    router = module.get(ToolRouter);
    tool = module.get(RepeatTool);
  });

  it('runs the handler with the validated, defaulted arguments and the context', async () => {
    expect(await router.route('repeat', { word: 'hi', extra: true }, { conversationId: 'c-1' })).toEqual({
      ok: true,
      say: 'hi hi',
      data: { times: 2 },
    });
    expect(tool.calls.at(-1)).toEqual({ args: { word: 'hi', times: 2 }, context: { conversationId: 'c-1' } });
  });

  it('throws UnknownToolError for a name no tool has', async () => {
    await expect(router.route('toString', {})).rejects.toThrow(new UnknownToolError('toString'));
  });

  it('throws InvalidToolArgumentsError naming every failing argument, without running the handler', async () => {
    const calls = tool.calls.length;
    const failure = await router.route('repeat', { times: 0 }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(InvalidToolArgumentsError);
    expect((failure as InvalidToolArgumentsError).problems).toEqual([
      { field: 'word', message: 'word is required' },
      { field: 'times', message: 'times must be at least 1' },
    ]);
    expect((failure as Error).message).toBe('Invalid arguments for repeat: word is required; times must be at least 1');
    expect(tool.calls).toHaveLength(calls);
  });

  it('turns a ToolError into ok:false with its say and reason', async () => {
    expect(await router.route('repeat', { word: 'missing' })).toEqual({
      ok: false,
      say: 'I could not find that word.',
      data: { error: 'Word not found' },
    });
  });

  it('turns any other error into a generic ok:false that leaks nothing', async () => {
    const result = await router.route('repeat', { word: 'crash' });
    expect(result).toEqual({ ok: false, say: 'Sorry, the repeat tool failed.', data: { error: 'Tool execution failed' } });
  });
});
