import { Module } from '@nestjs/common';
import { CacheModule } from '@app/cache';
import { TelegramBotApiModule } from '../adapters/telegram';
import { TelegramAdminController } from './telegram-admin.controller';
import { TelegramBotRepository } from './telegram-bot.repository';
import { TelegramBotsController } from './telegram-bots.controller';
import { TelegramBots } from './telegram-bots.service';
import { TELEGRAM_BOTS_CACHE, TELEGRAM_CACHE } from './telegram.cache';
import { TelegramFiles } from './telegram-files.service';
import { TelegramWebhooks } from './telegram-webhooks.service';

/**
 * The bots this service speaks as: which bot an update is for and its Bot API client
 * ({@link TelegramBots}), cached webhook registration ({@link TelegramWebhooks}) and file metadata
 * ({@link TelegramFiles}), and the admin routes under `/telegram` (webhook registration, bots).
 * Built on the Bot API adapter (`adapters/telegram`); the conversation feature builds on the
 * exported services.
 */
@Module({
  imports: [CacheModule.forFeature(TELEGRAM_CACHE, TELEGRAM_BOTS_CACHE), TelegramBotApiModule],
  controllers: [TelegramAdminController, TelegramBotsController],
  providers: [
    TelegramBotRepository,
    TelegramBots,
    TelegramWebhooks,
    TelegramFiles,
  ],
  exports: [TelegramBots, TelegramWebhooks, TelegramFiles],
})
export class TelegramModule {}
