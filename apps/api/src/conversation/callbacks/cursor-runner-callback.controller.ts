import { Body, Controller, HttpCode, HttpStatus, Post, Query, UseGuards } from '@nestjs/common';
import { ErrorOnlyShape } from '@app/http';
import { CallbackSecretGuard } from './callback-secret.guard';
import { ReceiveCallback, type CallbackAnswer } from './receive-callback.use-case';

/**
 * `POST /cursor-runner/callback`: cursor-runner posts the result of an async run here. 401
 * `{error: "Unauthorized"}` for a wrong or missing secret ({@link CallbackSecretGuard}); every
 * other answer is {@link ReceiveCallback}'s. Every error is `{error: <sentence>, ...}`, those the
 * platform raises too (malformed JSON, too large).
 */
@Controller('cursor-runner')
export class CursorRunnerCallbackController {
  constructor(private readonly callbacks: ReceiveCallback) {}

  @Post('callback')
  @HttpCode(HttpStatus.OK)
  @UseGuards(CallbackSecretGuard)
  @ErrorOnlyShape()
  receive(@Query() query: unknown, @Body() body: unknown): Promise<CallbackAnswer> {
    return this.callbacks.receive(query, body);
  }
}
