import { Module } from '@nestjs/common';
import { QueueModule } from '@app/queue';
import { CallbacksModule } from '../callbacks/callbacks.module';
import { CursorRunnerModule } from '../cursor-runner/cursor-runner.module';
import { ElevenLabsModule } from '../elevenlabs';
import { SettingsModule } from '../settings';
import { TelegramModule } from '../telegram';
import { TelegramUpdateIntake } from './telegram-update-intake.service';
import { TelegramUpdateProcessor } from './telegram-update.processor';
import { TELEGRAM_UPDATES_QUEUE } from './telegram-updates.queue';
import { TelegramWebhookController } from './telegram-webhook.controller';
import { TelegramWebhookGuard } from './telegram-webhook.guard';

/**
 * The message flow's way in: `POST /telegram/webhook` queues each update
 * ({@link TelegramUpdateIntake}) and {@link TelegramUpdateProcessor} works through the queue —
 * local answers, transcription, and forwarding to cursor-runner, whose callback answers later.
 */
@Module({
  imports: [
    QueueModule.forFeature(TELEGRAM_UPDATES_QUEUE),
    TelegramModule,
    ElevenLabsModule,
    CursorRunnerModule,
    CallbacksModule,
    SettingsModule,
  ],
  controllers: [TelegramWebhookController],
  providers: [TelegramWebhookGuard, TelegramUpdateIntake, TelegramUpdateProcessor],
})
export class TelegramWebhookModule {}
