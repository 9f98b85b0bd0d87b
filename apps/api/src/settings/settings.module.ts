import { Module } from '@nestjs/common';
import { CacheModule } from '@app/cache';
import { SETTINGS_CACHE } from './settings.cache';
import { SettingsController } from './settings.controller';
import { SettingsService } from './settings.service';

/** SystemSetting: `SettingsService` for other features (message flow, tools) and the admin routes. */
@Module({
  imports: [CacheModule.forFeature(SETTINGS_CACHE)],
  controllers: [SettingsController],
  providers: [SettingsService],
  exports: [SettingsService],
})
export class SettingsModule {}
