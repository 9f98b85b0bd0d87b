import { ArgumentsHost, Catch, ExceptionFilter, HttpStatus } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { errorBody } from '@app/http';
import { CursorRunnerError, CursorRunnerHttpError } from '../adapters/cursor-runner';

/**
 * The proxy routes' answer when cursor-runner gave none usable: 502 `{success:false, error}` with
 * the client's message (docs/cursor-runner.md, "Answers and errors"). The client has already logged the failure.
 * One refusal is the caller's to mend, not an upstream failure: cursor-runner reads request bodies of
 * up to 100 KB, and answers a longer prompt 413 — passed on as 413 in the shape of this service's other
413s (a body over `BODY_LIMIT_BYTES`), saying so.
 */
@Catch(CursorRunnerError)
export class CursorRunnerErrorFilter implements ExceptionFilter<CursorRunnerError> {
  catch(error: CursorRunnerError, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    if (error instanceof CursorRunnerHttpError && error.status === HttpStatus.PAYLOAD_TOO_LARGE) {
      const say = `cursor-runner refused the request as too large (${error.message}): it reads request bodies of up to 100 KB, so send a shorter prompt.`;
      reply.status(HttpStatus.PAYLOAD_TOO_LARGE).send(errorBody(say, 'Payload Too Large'));
      return;
    }
    reply.status(HttpStatus.BAD_GATEWAY).send({ success: false, error: error.message });
  }
}
