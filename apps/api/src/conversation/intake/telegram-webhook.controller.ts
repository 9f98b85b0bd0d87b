import { Body, Controller, HttpCode, HttpStatus, Post, UseGuards } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '@app/http';
import type { TelegramBotHandle } from '../../telegram';
import { TELEGRAM_UPDATE_SCHEMA } from '../conversation.openapi';
import { AcceptUpdate } from './accept-update.use-case';
import { TelegramWebhookGuard, WebhookBot } from './telegram-webhook.guard';

/**
 * `POST /telegram/webhook` (docs/telegram.md, "Webhook"): Telegram's deliveries. Authenticated by the bot's
 * secret token, the update is queued and answered at once with an empty 200;
 * processing happens in the queue's worker.
 */
@ApiTags('telegram webhook')
@Controller('telegram')
export class TelegramWebhookController {
  constructor(private readonly intake: AcceptUpdate) {}

  @Post('webhook')
  @ApiOperation({ summary: "Telegram's update delivery: queued, answered at once" })
  @ApiBody({ schema: TELEGRAM_UPDATE_SCHEMA })
  @ApiOkResponse({ description: 'Queued. No body.' })
  @ApiErrors({ 503: 'The queue cannot store the update (Redis down); Telegram delivers it again.' })
  @HttpCode(HttpStatus.OK)
  @UseGuards(TelegramWebhookGuard)
  async receive(@WebhookBot() bot: TelegramBotHandle, @Body() body: unknown): Promise<void> {
    await this.intake.accept(bot, body);
  }
}
