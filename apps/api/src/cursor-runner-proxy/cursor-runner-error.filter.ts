import { ArgumentsHost, Catch, ExceptionFilter, HttpStatus } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { CursorRunnerError } from '../adapters/cursor-runner';

/**
 * The proxy routes' answer when cursor-runner gave none usable: 502 `{success:false, error}` with
 * the client's message (docs/cursor-runner.md, "Answers and errors"). The client has already logged the failure.
 */
@Catch(CursorRunnerError)
export class CursorRunnerErrorFilter implements ExceptionFilter<CursorRunnerError> {
  catch(error: CursorRunnerError, host: ArgumentsHost): void {
    host
      .switchToHttp()
      .getResponse<FastifyReply>()
      .status(HttpStatus.BAD_GATEWAY)
      .send({ success: false, error: error.message });
  }
}
