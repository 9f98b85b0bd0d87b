import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength } from 'class-validator';

/** What Telegram accepts as `secret_token`: 1-256 letters, digits, underscores or dashes. */
export const WEBHOOK_SECRET_PATTERN = /^[A-Za-z0-9_-]{1,256}$/;

/**
 * Parameters of `POST /telegram/set_webhook`, from the JSON or form body or the
 * query string. Both are optional: `url` defaults to `<TELEGRAM_WEBHOOK_BASE_URL>/telegram/webhook`,
 * `secret_token` to `TELEGRAM_WEBHOOK_SECRET`.
 */
export class SetWebhookDto {
  @ApiPropertyOptional({ description: 'Default: `<TELEGRAM_WEBHOOK_BASE_URL>/telegram/webhook`.', maxLength: 2048, format: 'uri' })
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  @Matches(/^https?:\/\/[^\s/]+[^\s]*$/, { message: 'url must be an http(s) URL' })
  url?: string;

  @ApiPropertyOptional({ description: 'Default: `TELEGRAM_WEBHOOK_SECRET`.', pattern: WEBHOOK_SECRET_PATTERN.source })
  @IsOptional()
  @IsString()
  @Matches(WEBHOOK_SECRET_PATTERN, {
    message: 'secret_token must be 1-256 letters, digits, underscores or dashes (what Telegram accepts)',
  })
  secret_token?: string;
}
