import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { AppConfig } from '@app/config';
import { errorBody, INTERNAL_ERROR_SAY, NOT_FOUND_SAY, type ErrorBody } from './error-body';
import { errorShapeOf, inShape, isErrorBody } from './error-shape';

function reasonPhrase(status: number): string {
  const name = HttpStatus[status];
  if (!name) return 'Error';
  return name
    .toLowerCase()
    .split('_')
    .map((word) => word[0].toUpperCase() + word.slice(1))
    .join(' ');
}

interface LoggableRequest {
  id?: string;
  method?: string;
  url?: string;
  routeOptions?: { config?: unknown };
}

/**
 * Every error leaves as JSON in the `{ok: false, say, result}` shape; nothing leaks a stack trace.
 * - An `HttpException` built with an object body that is not Nest's default (`{statusCode, …}`)
 *   is sent as it is, so a route can answer in a contract of its own (`{success:false,error}`).
 * - Other `HttpException`s, including the ones Nest maps from Fastify's body-parsing errors
 *   (malformed JSON, body too large, unsupported type), become `{ok:false, say, result:{error}}`.
 * - Anything else is a 500 whose body carries the request id, and is logged with its stack.
 *   5xx `HttpException`s are not logged here: the access log has a line for every answer.
 * A body in that shape is re-worded for the route family it was sent to (`ErrorShape`).
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpErrors');

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly config: AppConfig,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<LoggableRequest>();
    const { status, body } = this.describe(exception, request.id);
    // A 5xx HttpException is an answer the app chose (502 from an upstream, 503 from a probe): the
    // access log's one line records it. Only an error nothing handled gets a line with its stack.
    if (!(exception instanceof HttpException)) {
      this.logger.error(
        { err: exception, requestId: request.id },
        `Unhandled error on ${request.method} ${request.url?.split('?')[0]}`,
      );
    }
    const shaped = isErrorBody(body) ? inShape(body, errorShapeOf(request)) : body;
    this.adapterHost.httpAdapter.reply(http.getResponse(), shaped, status);
  }

  private describe(exception: unknown, requestId: string | undefined): { status: number; body: unknown } {
    if (!(exception instanceof HttpException)) {
      return {
        status: HttpStatus.INTERNAL_SERVER_ERROR,
        body: errorBody(INTERNAL_ERROR_SAY, 'Internal Server Error', requestId ? { request_id: requestId } : {}),
      };
    }
    const status = exception.getStatus();
    const response = exception.getResponse();
    if (typeof response === 'object' && response !== null && !('statusCode' in response)) {
      return { status, body: response };
    }
    return { status, body: this.defaultBody(status, exception.message) };
  }

  private defaultBody(status: number, message: string): ErrorBody {
    switch (true) {
      case status === HttpStatus.NOT_FOUND:
        return errorBody(NOT_FOUND_SAY, 'Not Found');
      case status === HttpStatus.PAYLOAD_TOO_LARGE:
        return errorBody(
          `Request body is too large: the limit is ${this.config.http.bodyLimitBytes} bytes.`,
          reasonPhrase(status),
        );
      case status === HttpStatus.UNSUPPORTED_MEDIA_TYPE:
        return errorBody(
          'The request body has an unsupported content type: send application/json ' +
            '(or, where a route takes a form, application/x-www-form-urlencoded).',
          reasonPhrase(status),
        );
      case status >= 500:
        return errorBody(INTERNAL_ERROR_SAY, reasonPhrase(status));
      default:
        return errorBody(message, reasonPhrase(status));
    }
  }
}
