import { Module } from '@nestjs/common';
import { AppConfig } from '@app/config';
import { TelegramTransport } from './telegram-transport';

/**
 * The Telegram Bot API adapter: the one keep-alive {@link TelegramTransport} every bot's client
 * shares. Clients are built per token by whoever knows the tokens (the `telegram` feature's bot
 * registry); this module knows no feature.
 */
@Module({
  providers: [{ provide: TelegramTransport, inject: [AppConfig], useFactory: TelegramTransport.fromConfig }],
  exports: [TelegramTransport],
})
export class TelegramBotApiModule {}
