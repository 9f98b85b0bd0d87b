import { Module } from '@nestjs/common';
import { z } from 'zod';
import { AgentTool, type ToolHandler, type ToolOutput } from '../../apps/api/src/tools';

const FailingArgs = z.object({});

/** A tool whose handler throws an unexpected error with internals in its message. */
@AgentTool({ name: 'fail_loudly', description: 'Always fails (test fixture).', args: FailingArgs })
export class FailingTool implements ToolHandler<typeof FailingArgs> {
  execute(): Promise<ToolOutput> {
    return Promise.reject(new Error('connection to /var/secret/shared.sqlite3 lost'));
  }
}

/**
 * Adds one tool from outside the tools module: one provider class, no registration elsewhere, as
 * a feature adding a tool would.
 */
@Module({ providers: [FailingTool] })
export class ToolFixturesModule {}
