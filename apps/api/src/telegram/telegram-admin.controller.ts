import { Body, Controller, Delete, Get, HttpCode, HttpException, HttpStatus, Logger, Post, Query, UseGuards } from '@nestjs/common';
import { ApiBadGatewayResponse, ApiConsumes, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AppConfig } from '@app/config';
import { AdminSecretGuard, RequestValidationException, secretsMatch } from '@app/http';
import type { WebhookInfo } from '@grammyjs/types';
import { TelegramError, type TelegramResponse } from '../adapters/telegram';
import { SetWebhookDto } from './dto/set-webhook.dto';
import { TelegramBots } from './telegram-bots.service';
import { TelegramWebhooks } from './telegram-webhooks.service';
import {
  SET_WEBHOOK_SCHEMA,
  TELEGRAM_UPSTREAM_ERROR_SCHEMA,
  WEBHOOK_DELETED_SCHEMA,
  WEBHOOK_INFO_SCHEMA,
} from './telegram.openapi';

/** Path of the webhook route Telegram calls, appended to `TELEGRAM_WEBHOOK_BASE_URL` by default. */
export const TELEGRAM_WEBHOOK_PATH = '/telegram/webhook';

const OWN_ROUTE_SECRET_MESSAGE =
  "secret_token must be TELEGRAM_WEBHOOK_SECRET (or left out) for this service's own webhook route, which accepts no other " +
  'secret for the env bot';

/**
 * The env bot's webhook registration, behind the admin secret. Telegram's answers
 * are returned as Telegram sent them; when Telegram fails or cannot be reached the answer is
 * 502 `{ok:false, error}` — an upstream failure, not ours.
 */
@ApiTags('telegram admin')
@ApiBadGatewayResponse({ description: 'Telegram failed or could not be reached.', schema: TELEGRAM_UPSTREAM_ERROR_SCHEMA })
@Controller('telegram')
@UseGuards(AdminSecretGuard)
export class TelegramAdminController {
  private readonly logger = new Logger(TelegramAdminController.name);

  constructor(
    private readonly config: AppConfig,
    private readonly bots: TelegramBots,
    private readonly webhooks: TelegramWebhooks,
  ) {}

  /**
   * Registers the webhook: `url` and `secret_token` from the body or the query, else the configured
   * ones. For this service's own route (the default url) the secret must be the configured one.
   */
  @Post('set_webhook')
  @ApiOperation({ summary: "Registers the env bot's webhook (`url`, `secret_token` from the body or the query)" })
  @ApiOkResponse({ schema: SET_WEBHOOK_SCHEMA })
  @ApiConsumes('application/json', 'application/x-www-form-urlencoded')
  @HttpCode(HttpStatus.OK)
  async setWebhook(
    @Body() body: SetWebhookDto,
    @Query() query: SetWebhookDto,
  ): Promise<{ ok: true; message: string; webhook_info: TelegramResponse<boolean> | null }> {
    const ownRoute = `${this.config.telegram.webhookBaseUrl}${TELEGRAM_WEBHOOK_PATH}`;
    const url = body.url ?? query.url ?? ownRoute;
    const secretToken = body.secret_token ?? query.secret_token ?? this.config.secrets.telegramWebhook;
    // The webhook route takes no other secret for the env bot: every delivery would be a 401, and
    // Telegram would drop the updates after a day. Another url is another service, with its own secret.
    if (sameRoute(url, ownRoute) && !secretsMatch(secretToken, this.config.secrets.telegramWebhook)) {
      throw new RequestValidationException([{ field: 'secret_token', message: OWN_ROUTE_SECRET_MESSAGE }]);
    }
    const answer = await this.upstream('Error setting webhook', () =>
      this.webhooks.set(this.bots.defaultBot(), url, secretToken),
    );
    return { ok: true, message: 'Webhook set successfully', webhook_info: answer };
  }

  /** Telegram's getWebhookInfo answer (cached for 60 s, evicted by set_webhook and DELETE /telegram/webhook). */
  @Get('webhook_info')
  @ApiOperation({ summary: "Telegram's getWebhookInfo for the env bot (cached 60 s)" })
  @ApiOkResponse({ schema: WEBHOOK_INFO_SCHEMA })
  async webhookInfo(): Promise<{ ok: true; webhook_info: TelegramResponse<WebhookInfo> | null }> {
    const answer = await this.upstream('Error getting webhook info', () => this.webhooks.info(this.bots.defaultBot()));
    return { ok: true, webhook_info: answer };
  }

  /** Removes the webhook. */
  @Delete('webhook')
  @ApiOperation({ summary: "Removes the env bot's webhook" })
  @ApiOkResponse({ schema: WEBHOOK_DELETED_SCHEMA })
  async deleteWebhook(): Promise<{ ok: true; message: string }> {
    await this.upstream('Error deleting webhook', () => this.webhooks.delete(this.bots.defaultBot()));
    return { ok: true, message: 'Webhook deleted successfully' };
  }

  private async upstream<T>(failure: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof TelegramError)) throw error;
      this.logger.error(`${failure}: ${error.name}: ${error.message}`);
      throw new HttpException({ ok: false, error: error.message }, HttpStatus.BAD_GATEWAY);
    }
  }
}

/**
 * Whether `url` reaches the same route as `route`: the same scheme, host (any case, a trailing dot
 * aside), port (written any way) and path (percent-encoding decoded); the query, the fragment and
 * any user info do not change where Telegram's deliveries go.
 */
function sameRoute(url: string, route: string): boolean {
  const target = parsedUrl(url);
  const own = parsedUrl(route);
  if (!target || !own) return url === route;
  const host = (parsed: URL) => parsed.hostname.replace(/\.$/, '');
  return target.protocol === own.protocol && host(target) === host(own) && target.port === own.port && decodedPath(target) === decodedPath(own);
}

function parsedUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

function decodedPath(url: URL): string {
  try {
    return decodeURIComponent(url.pathname);
  } catch {
    return url.pathname;
  }
}
