export { TelegramWebhookModule } from './telegram-webhook.module';
export { TelegramUpdateProcessor, DEBUG_SETTING } from './telegram-update.processor';
export { TelegramUpdateIntake } from './telegram-update-intake.service';
export { TELEGRAM_UPDATES_QUEUE, UPDATE_DEDUPLICATION_TTL_SECONDS, updateDeduplicationId, type TelegramUpdateJob } from './telegram-updates.queue';
export { TELEGRAM_SECRET_HEADER } from './telegram-webhook.guard';
