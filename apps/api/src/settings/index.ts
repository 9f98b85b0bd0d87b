export { SettingsModule } from './settings.module';
export { SettingsService, type SettingRecord } from './settings.service';
export { SETTING_NAME_PATTERN, SETTING_NAME_RULE } from './setting-name';
export { SETTINGS_TTL_MS } from './settings.cache';
