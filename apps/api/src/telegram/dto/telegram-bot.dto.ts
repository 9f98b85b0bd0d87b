import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsString, Matches, MaxLength } from 'class-validator';
import { OptionalNotNull } from '@app/http';
import type { NewTelegramBot, TelegramBotChanges } from '../telegram-bot.repository';
import { WEBHOOK_SECRET_PATTERN } from './set-webhook.dto';

/** A bot token as BotFather issues it: `<bot id>:<secret>`. */
export const BOT_TOKEN_PATTERN = /^\d{1,20}:[A-Za-z0-9_-]{1,100}$/;
/**
 * A name shows in admin lists and logs: no leading or trailing space, no control character (NUL, ESC,
 * a newline) and no text-direction control, which makes a name display as another.
 */
// eslint-disable-next-line no-control-regex -- control characters are what it refuses
const NAME_PATTERN = /^(?!.*[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069])\S(.*\S)?$/;
const NAME_MESSAGE = 'name must be 1-64 characters without leading or trailing spaces, control characters or text-direction controls';
const BOT_TYPE_PATTERN = /^[a-z0-9_-]{1,32}$/;

const TOKEN_MESSAGE = 'bot_token must look like <digits>:<letters, digits, _ or ->';
const SECRET_MESSAGE = 'webhook_secret must be 1-256 letters, digits, underscores or dashes (what Telegram accepts)';

/** Body of `POST /telegram/bots`. */
export class CreateTelegramBotDto {
  @ApiProperty({ maxLength: 64, pattern: NAME_PATTERN.source })
  @IsString()
  @MaxLength(64)
  @Matches(NAME_PATTERN, { message: NAME_MESSAGE })
  name!: string;

  @ApiProperty({ description: 'Never shown again.', pattern: BOT_TOKEN_PATTERN.source, writeOnly: true })
  @IsString()
  @Matches(BOT_TOKEN_PATTERN, { message: TOKEN_MESSAGE })
  bot_token!: string;

  @ApiProperty({ description: 'Never shown again.', pattern: WEBHOOK_SECRET_PATTERN.source, writeOnly: true })
  @IsString()
  @Matches(WEBHOOK_SECRET_PATTERN, { message: SECRET_MESSAGE })
  webhook_secret!: string;

  @ApiPropertyOptional({ pattern: BOT_TYPE_PATTERN.source })
  @OptionalNotNull()
  @IsString()
  @Matches(BOT_TYPE_PATTERN, { message: 'bot_type must be 1-32 lowercase letters, digits, underscores or dashes' })
  bot_type?: string;

  @ApiPropertyOptional({ description: 'An inactive bot\'s webhooks are refused.' })
  @OptionalNotNull()
  @IsBoolean({ message: 'active must be true or false' })
  active?: boolean;

  toNewBot(): NewTelegramBot {
    return { name: this.name, token: this.bot_token, webhookSecret: this.webhook_secret, botType: this.bot_type, active: this.active };
  }
}

/** Body of `PATCH /telegram/bots/:id`: any of the create fields; absent fields stay. */
export class UpdateTelegramBotDto {
  @ApiPropertyOptional({ maxLength: 64, pattern: NAME_PATTERN.source })
  @OptionalNotNull()
  @IsString()
  @MaxLength(64)
  @Matches(NAME_PATTERN, { message: NAME_MESSAGE })
  name?: string;

  @ApiPropertyOptional({ description: 'Never shown again.', pattern: BOT_TOKEN_PATTERN.source, writeOnly: true })
  @OptionalNotNull()
  @IsString()
  @Matches(BOT_TOKEN_PATTERN, { message: TOKEN_MESSAGE })
  bot_token?: string;

  @ApiPropertyOptional({ description: 'Never shown again.', pattern: WEBHOOK_SECRET_PATTERN.source, writeOnly: true })
  @OptionalNotNull()
  @IsString()
  @Matches(WEBHOOK_SECRET_PATTERN, { message: SECRET_MESSAGE })
  webhook_secret?: string;

  @ApiPropertyOptional({ pattern: BOT_TYPE_PATTERN.source })
  @OptionalNotNull()
  @IsString()
  @Matches(BOT_TYPE_PATTERN, { message: 'bot_type must be 1-32 lowercase letters, digits, underscores or dashes' })
  bot_type?: string;

  @ApiPropertyOptional({ description: 'An inactive bot\'s webhooks are refused.' })
  @OptionalNotNull()
  @IsBoolean({ message: 'active must be true or false' })
  active?: boolean;

  toChanges(): TelegramBotChanges {
    return { name: this.name, token: this.bot_token, webhookSecret: this.webhook_secret, botType: this.bot_type, active: this.active };
  }
}
