import { Injectable, Scope } from '@nestjs/common';
import { DiscoveryModule, DiscoveryService } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { z } from 'zod';
import { AGENT_TOOL, AgentTool, type ToolHandler, type ToolOutput } from './agent-tool';
import { ToolRegistry } from './tool-registry';

const EchoArgs = z.object({ text: z.string().describe('What to echo') });

@AgentTool({ name: 'echo', description: 'Says the text back.', args: EchoArgs })
class EchoTool implements ToolHandler<typeof EchoArgs> {
  async execute({ text }: z.output<typeof EchoArgs>): Promise<ToolOutput> {
    return { say: text, data: { text } };
  }
}

@AgentTool({ name: 'echo', description: 'A second tool under the same name.', args: z.object({}) })
class SecondEchoTool implements ToolHandler {
  async execute(): Promise<ToolOutput> {
    return { say: '', data: null };
  }
}

@Injectable()
class NotATool {}

async function registryWith(...providers: (new (...args: never[]) => unknown)[]) {
  const module = await Test.createTestingModule({ imports: [DiscoveryModule], providers: [ToolRegistry, ...providers] }).compile();
  module.useLogger(false);
  return { module, registry: module.get(ToolRegistry), discovery: module.get(DiscoveryService) };
}

describe('ToolRegistry', () => {
  it('finds @AgentTool providers (and nothing else) with their published argument schema', async () => {
    const { registry, module } = await registryWith(EchoTool, NotATool);
    expect([...registry.tools().keys()]).toEqual(['echo']);
    expect(registry.find('echo')!.handler).toBe(module.get(EchoTool));
    expect(registry.find('nope')).toBeUndefined();
    expect(registry.describe()).toEqual([
      {
        name: 'echo',
        description: 'Says the text back.',
        args: {
          $schema: 'https://json-schema.org/draft/2020-12/schema',
          type: 'object',
          properties: { text: { type: 'string', description: 'What to echo' } },
          required: ['text'],
        },
      },
    ]);
  });

  it('scans the container once, however often it is asked', async () => {
    const { registry, discovery } = await registryWith(EchoTool);
    const scan = jest.spyOn(discovery, 'getProviders');
    const first = registry.tools();
    for (let index = 0; index < 5; index += 1) registry.find('echo');
    registry.describe();
    expect(registry.tools()).toBe(first);
    expect(scan).toHaveBeenCalledTimes(1);
    expect(scan).toHaveBeenCalledWith({ metadataKey: AGENT_TOOL.KEY });
  });

  it('builds the registry when the application boots', async () => {
    const { module, discovery } = await registryWith(EchoTool);
    const scan = jest.spyOn(discovery, 'getProviders');
    await module.init();
    expect(scan).toHaveBeenCalledTimes(1);
    await module.close();
  });

  it('refuses two tools with one name, naming both providers', async () => {
    const { registry } = await registryWith(EchoTool, SecondEchoTool);
    expect(() => registry.tools()).toThrow('Agent tool "echo" is declared twice, by EchoTool and SecondEchoTool');
  });

  it('refuses a request-scoped tool: the registry holds singletons', async () => {
    const module = await Test.createTestingModule({
      imports: [DiscoveryModule],
      providers: [ToolRegistry, { provide: EchoTool, useClass: EchoTool, scope: Scope.REQUEST }],
    }).compile();
    expect(() => module.get(ToolRegistry).tools()).toThrow('Agent tool "echo" (EchoTool) must be a singleton provider');
  });
});
