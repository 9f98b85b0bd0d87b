import { Module } from '@nestjs/common';
import { CacheModule } from '@app/cache';
import { AppConfig } from '@app/config';
import { ElevenLabsModule } from '../elevenlabs';
import { SettingsModule } from '../settings';
import { TelegramAdminController } from './telegram-admin.controller';
import { TelegramBotRepository } from './telegram-bot.repository';
import { TelegramBotsController } from './telegram-bots.controller';
import { TelegramBots } from './telegram-bots.service';
import { TELEGRAM_BOTS_CACHE, TELEGRAM_CACHE } from './telegram.cache';
import { TelegramFiles } from './telegram-files.service';
import { TelegramReplies } from './telegram-replies.service';
import { TelegramTransport } from './telegram-transport';
import { TelegramWebhooks } from './telegram-webhooks.service';

/**
 * The Telegram platform layer: which bot an update is for and its Bot API client
 * ({@link TelegramBots}), cached webhook registration ({@link TelegramWebhooks}) and file metadata
 * ({@link TelegramFiles}), replies in voice or text ({@link TelegramReplies}), and the admin routes under `/telegram` (webhook registration, bots). The webhook route and the
 * update processing build on the exported services.
 */
@Module({
  imports: [CacheModule.forFeature(TELEGRAM_CACHE, TELEGRAM_BOTS_CACHE), ElevenLabsModule, SettingsModule],
  controllers: [TelegramAdminController, TelegramBotsController],
  providers: [
    { provide: TelegramTransport, inject: [AppConfig], useFactory: TelegramTransport.fromConfig },
    TelegramBotRepository,
    TelegramBots,
    TelegramWebhooks,
    TelegramFiles,
    TelegramReplies,
  ],
  exports: [TelegramBots, TelegramWebhooks, TelegramFiles, TelegramReplies],
})
export class TelegramModule {}
