import { Body, Controller, HttpCode, HttpStatus, Post, Query, UseGuards } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { BodyLimit, ErrorOnlyShape } from '@app/http';
import { CALLBACK_ANSWER_SCHEMA, CALLBACK_BODY_SCHEMA, CALLBACK_UNAVAILABLE_SCHEMA } from '../conversation.openapi';
import { CallbackSecretGuard } from './callback-secret.guard';
import { ReceiveCallback, type CallbackAnswer } from './receive-callback.use-case';
import { CALLBACK_BODY_LIMIT } from './refused-callbacks';

/**
 * `POST /cursor-runner/callback`: cursor-runner posts the result of an async run here. 401
 * `{error: "Unauthorized"}` for a wrong or missing secret ({@link CallbackSecretGuard}); every
 * other answer is {@link ReceiveCallback}'s. Every error is `{error: <sentence>, ...}`, those the
 * platform raises too (malformed JSON, too large). Bodies may be up to `CALLBACK_BODY_LIMIT_BYTES`
 * (whole agent outputs); a refused one is reported by `installRefusedCallbackReports`.
 */
@ApiTags('cursor-runner callback')
@Controller('cursor-runner')
export class CursorRunnerCallbackController {
  constructor(private readonly callbacks: ReceiveCallback) {}

  @Post('callback')
  @BodyLimit(CALLBACK_BODY_LIMIT)
  @ApiOperation({ summary: 'cursor-runner posts the result of an async run; it is relayed to the chat' })
  @ApiConsumes('application/json', 'application/x-www-form-urlencoded')
  @ApiBody({ schema: CALLBACK_BODY_SCHEMA })
  @ApiOkResponse({
    description: 'Answered once the result is stored in the result-deliveries queue (durable with Redis).',
    schema: CALLBACK_ANSWER_SCHEMA,
  })
  @ApiServiceUnavailableResponse({
    description:
      'The pending-request store or the result-deliveries queue (Redis) cannot answer; its content is logged for a replay (cursor-runner does not retry).',
    schema: CALLBACK_UNAVAILABLE_SCHEMA,
  })
  @HttpCode(HttpStatus.OK)
  @UseGuards(CallbackSecretGuard)
  @ErrorOnlyShape()
  receive(@Query() query: unknown, @Body() body: unknown): Promise<CallbackAnswer> {
    return this.callbacks.receive(query, body);
  }
}
