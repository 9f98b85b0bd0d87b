import { z } from 'zod';
import { SETTING_NAME_PATTERN, SETTING_NAME_RULE, SettingsService } from '../../settings';
import { AgentTool, type ToolHandler, type ToolOutput } from '../agent-tool';
import { expecting } from '../tool-args';

const settingName = z
  .string(expecting('must be a string'))
  .regex(SETTING_NAME_PATTERN, SETTING_NAME_RULE)
  .describe('Setting name: debug, allow_audio_output, task_operator, …');

const GetSettingArgs = z.object({ name: settingName });

/** Reads through SettingsService, so it shares the settings cache and its evictions. */
@AgentTool({
  name: 'get_setting',
  description: 'Tell whether a system setting (debug, allow_audio_output, task_operator) is enabled.',
  args: GetSettingArgs,
})
export class GetSettingTool implements ToolHandler<typeof GetSettingArgs> {
  constructor(private readonly settings: SettingsService) {}

  async execute({ name }: z.output<typeof GetSettingArgs>): Promise<ToolOutput> {
    const enabled = await this.settings.lookup(name);
    return { say: `${name} is ${enabled ? 'enabled' : 'disabled'}.`, data: { name, enabled } };
  }
}

const SetSettingArgs = z.object({
  name: settingName,
  enabled: z.boolean(expecting('must be true or false')).describe('true to enable, false to disable'),
});

@AgentTool({
  name: 'set_setting',
  description: 'Enable or disable a system setting.',
  args: SetSettingArgs,
})
export class SetSettingTool implements ToolHandler<typeof SetSettingArgs> {
  constructor(private readonly settings: SettingsService) {}

  async execute({ name, enabled }: z.output<typeof SetSettingArgs>): Promise<ToolOutput> {
    const setting = await this.settings.set(name, enabled);
    return { say: `${name} is now ${setting.enabled ? 'enabled' : 'disabled'}.`, data: setting };
  }
}
