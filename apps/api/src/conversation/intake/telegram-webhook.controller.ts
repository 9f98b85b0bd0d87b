import { Body, Controller, HttpCode, HttpStatus, Post, UseGuards } from '@nestjs/common';
import type { TelegramBotHandle } from '../../telegram';
import { AcceptUpdate } from './accept-update.use-case';
import { TelegramWebhookGuard, WebhookBot } from './telegram-webhook.guard';

/**
 * `POST /telegram/webhook` (docs/telegram.md, "Webhook"): Telegram's deliveries. Authenticated by the bot's
 * secret token, the update is queued and answered at once with an empty 200;
 * processing happens in the queue's worker.
 */
@Controller('telegram')
export class TelegramWebhookController {
  constructor(private readonly intake: AcceptUpdate) {}

  @Post('webhook')
  @HttpCode(HttpStatus.OK)
  @UseGuards(TelegramWebhookGuard)
  async receive(@WebhookBot() bot: TelegramBotHandle, @Body() body: unknown): Promise<void> {
    await this.intake.accept(bot, body);
  }
}
