import {
  CanActivate,
  createParamDecorator,
  ExecutionContext,
  Injectable,
  Logger,
  UnauthorizedException,
} from '@nestjs/common';
import { errorBody } from '@app/http';
import { TelegramBots, type TelegramBotHandle } from '../../telegram';

/** The header Telegram sends the webhook's `secret_token` in. */
export const TELEGRAM_SECRET_HEADER = 'x-telegram-bot-api-secret-token';

interface WebhookRequest {
  headers: Record<string, string | string[] | undefined>;
  telegramBot?: TelegramBotHandle;
}

/**
 * The webhook's authentication (docs/telegram.md, "Webhook"): `X-Telegram-Bot-Api-Secret-Token` must be the
 * webhook secret of an active `telegram_bots` row or `TELEGRAM_WEBHOOK_SECRET` (constant-time, in
 * `TelegramBots`), else 401 JSON. There is no blank-secret bypass, in any environment: a missing or
 * empty header never matches, and a blank `TELEGRAM_WEBHOOK_SECRET` falls back to its default
 * (`changeme`, which production refuses). The secret is never logged.
 */
@Injectable()
export class TelegramWebhookGuard implements CanActivate {
  private readonly logger = new Logger('TelegramWebhook');

  constructor(private readonly bots: TelegramBots) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<WebhookRequest>();
    const header = request.headers[TELEGRAM_SECRET_HEADER];
    const presented = Array.isArray(header) ? header[0] : header;
    const bot = await this.bots.resolveWebhookSecret(presented);
    if (bot) {
      request.telegramBot = bot;
      return true;
    }
    this.logger.warn(
      `Unauthorized Telegram webhook request - invalid secret token (${presented ? 'wrong secret' : 'no secret sent'})`,
    );
    throw new UnauthorizedException(
      errorBody(
        presented
          ? 'The Telegram webhook secret is wrong.'
          : 'The Telegram webhook secret is missing: send it in the X-Telegram-Bot-Api-Secret-Token header.',
        'Unauthorized',
      ),
    );
  }
}

/** The bot {@link TelegramWebhookGuard} resolved for this request. */
export const WebhookBot = createParamDecorator((_data: unknown, context: ExecutionContext): TelegramBotHandle => {
  const bot = context.switchToHttp().getRequest<WebhookRequest>().telegramBot;
  if (!bot) throw new Error('WebhookBot used on a route without TelegramWebhookGuard');
  return bot;
});
