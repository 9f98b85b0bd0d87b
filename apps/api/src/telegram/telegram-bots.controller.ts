import {
  Body,
  ConflictException,
  Controller,
  Get,
  NotFoundException,
  Param,
  Patch,
  Post,
  UseGuards,
} from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { AdminSecretGuard, ApiErrors, ApiWritesSharedDatabase, errorBody, ParseRowIdPipe } from '@app/http';
import { CreateTelegramBotDto, UpdateTelegramBotDto } from './dto/telegram-bot.dto';
import { EnvBotSecretError, TelegramBots, type TelegramBotView } from './telegram-bots.service';
import { TELEGRAM_BOT_SCHEMA } from './telegram.openapi';

/** Prisma's code for a unique-constraint violation. */
const UNIQUE_VIOLATION = 'P2002';

function conflictOnDuplicate(error: unknown): never {
  if ((error as { code?: unknown }).code === UNIQUE_VIOLATION) {
    throw new ConflictException(
      errorBody('A Telegram bot with this name, token or webhook secret already exists.', 'Conflict'),
    );
  }
  if (error instanceof EnvBotSecretError) {
    throw new ConflictException(
      errorBody(
        `The env bot already uses this ${error.field} (${error.variable}); a bot here needs its own.`,
        'Conflict',
        { field: error.field },
      ),
    );
  }
  throw error;
}

/**
 * The `telegram_bots` rows (docs/database.md, "telegram_bots"), behind the admin secret. Tokens and webhook
 * secrets are accepted but never shown. A write is seen by the webhook's bot resolution on every
 * instance before it answers here (the lookups are cleared and the invalidation is broadcast).
 */
@ApiTags('telegram bots')
@Controller('telegram/bots')
@UseGuards(AdminSecretGuard)
export class TelegramBotsController {
  constructor(private readonly bots: TelegramBots) {}

  /** Every bot, by id, without secrets. */
  @Get()
  @ApiOperation({ summary: 'Every bot, by id, without secrets' })
  @ApiOkResponse({ schema: { type: 'object', required: ['bots'], properties: { bots: { type: 'array', items: TELEGRAM_BOT_SCHEMA } } } })
  async list(): Promise<{ bots: TelegramBotView[] }> {
    return { bots: await this.bots.list() };
  }

  /** Adds a bot (active unless `active: false`); 409 when the name, token or secret is taken. */
  @Post()
  @ApiOperation({ summary: 'Adds a bot' })
  @ApiCreatedResponse({ schema: TELEGRAM_BOT_SCHEMA })
  @ApiErrors({ 409: "The name, token or webhook secret is taken, or is the env bot's." })
  @ApiWritesSharedDatabase()
  async create(@Body() body: CreateTelegramBotDto): Promise<TelegramBotView> {
    return this.bots.create(body.toNewBot()).catch(conflictOnDuplicate);
  }

  /** Changes a bot: a new token takes effect at once, `active: false` refuses its webhooks at once. */
  @Patch(':id')
  @ApiOperation({ summary: 'Changes a bot; a new token or `active: false` takes effect at once' })
  @ApiOkResponse({ schema: TELEGRAM_BOT_SCHEMA })
  @ApiParam({ name: 'id', schema: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } })
  @ApiErrors({ 404: 'No bot has this id.', 409: "The name, token or webhook secret is taken, or is the env bot's." })
  @ApiWritesSharedDatabase()
  async update(@Param('id', ParseRowIdPipe) id: number, @Body() body: UpdateTelegramBotDto): Promise<TelegramBotView> {
    const updated = await this.bots.update(id, body.toChanges()).catch(conflictOnDuplicate);
    if (!updated) throw new NotFoundException(errorBody(`No Telegram bot has id ${id}.`, 'Not Found'));
    return updated;
  }
}
