import { Body, Controller, Delete, ExecutionContext, Get, Param, Put, UseGuards } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { HttpCached } from '@app/cache';
import { AdminSecretGuard, ApiWritesSharedDatabase } from '@app/http';
import { SettingNameParams } from './dto/setting-name.params';
import { UpdateSettingDto } from './dto/update-setting.dto';
import { SETTING_DELETED_SCHEMA, SETTING_RECORD_SCHEMA, SETTING_STATE_SCHEMA, SETTINGS_LIST_SCHEMA } from './settings.openapi';
import { SETTINGS_CACHE, SETTINGS_LIST_TAG, settingTag } from './settings.cache';
import { SettingsService, type SettingRecord } from './settings.service';

/** One entry per setting name (and per caller: the routes keep the default principal scope). */
const settingRouteKey = (context: ExecutionContext): string =>
  `setting:${context.switchToHttp().getRequest<{ params: { name: string } }>().params.name}`;

/**
 * Operators' view of SystemSetting, behind the admin secret. The GET answers are cached in the
 * `settings` namespace under tags that every write through {@link SettingsService} evicts.
 */
@ApiTags('settings')
@Controller('settings')
@UseGuards(AdminSecretGuard)
export class SettingsController {
  constructor(private readonly settings: SettingsService) {}

  @Get()
  @ApiOperation({ summary: 'Every stored setting' })
  @ApiOkResponse({ schema: SETTINGS_LIST_SCHEMA })
  @HttpCached({ namespace: SETTINGS_CACHE, key: 'settings:all', tags: [SETTINGS_LIST_TAG] })
  async list(): Promise<{ settings: SettingRecord[] }> {
    return { settings: await this.settings.list() };
  }

  /** A missing row is not an error: the setting simply reads as disabled. */
  @Get(':name')
  @ApiOperation({ summary: 'Whether a setting is enabled (a missing one reads as disabled)' })
  @ApiOkResponse({ schema: SETTING_STATE_SCHEMA })
  @HttpCached({ namespace: SETTINGS_CACHE, key: settingRouteKey, tags: ({ params }) => [settingTag(params.name)] })
  async find(@Param() { name }: SettingNameParams): Promise<{ name: string; enabled: boolean }> {
    const row = await this.settings.find(name);
    return { name, enabled: row?.enabled ?? false };
  }

  @Put(':name')
  @ApiOperation({ summary: 'Enables or disables a setting, evicting what shows it on every instance' })
  @ApiWritesSharedDatabase()
  @ApiOkResponse({ schema: SETTING_RECORD_SCHEMA })
  update(@Param() { name }: SettingNameParams, @Body() body: UpdateSettingDto): Promise<SettingRecord> {
    return this.settings.set(name, body.enabled);
  }

  @Delete(':name')
  @ApiOperation({ summary: 'Removes a setting' })
  @ApiWritesSharedDatabase()
  @ApiOkResponse({ schema: SETTING_DELETED_SCHEMA })
  async remove(@Param() { name }: SettingNameParams): Promise<{ name: string; deleted: boolean }> {
    return { name, deleted: await this.settings.remove(name) };
  }
}
