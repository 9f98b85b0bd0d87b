export { TelegramModule } from './telegram.module';
export { TelegramBots, DEFAULT_BOT_NAME, tokenDigestOf, type TelegramBotHandle, type TelegramBotView } from './telegram-bots.service';
export { TelegramWebhooks } from './telegram-webhooks.service';
export { TelegramFiles } from './telegram-files.service';
export { TELEGRAM_WEBHOOK_PATH } from './telegram-admin.controller';
