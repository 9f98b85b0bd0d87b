import { Module } from '@nestjs/common';
import { SettingsModule } from '../settings';
import { TelegramModule } from '../telegram';
import { CallbackDeliveries } from './callback-deliveries.service';
import { CallbackDelivery } from './callback-delivery.service';
import { CallbackSecretGuard } from './callback-secret.guard';
import { CallbacksModule } from './callbacks.module';
import { CursorRunnerCallbackController } from './cursor-runner-callback.controller';
import { RefusedCallbacks } from './refused-callbacks';

/**
 * The callback route, `POST /cursor-runner/callback`, and the delivery of results to Telegram.
 * A module of its own beside {@link CallbacksModule} (the pending-request store): the Telegram
 * message flow needs the store, this route needs Telegram, and keeping them apart lets both import
 * what they need without a module cycle.
 */
@Module({
  imports: [CallbacksModule, TelegramModule, SettingsModule],
  controllers: [CursorRunnerCallbackController],
  providers: [CallbackSecretGuard, CallbackDelivery, CallbackDeliveries, RefusedCallbacks],
  exports: [CallbackDeliveries],
})
export class CursorRunnerCallbackModule {}
