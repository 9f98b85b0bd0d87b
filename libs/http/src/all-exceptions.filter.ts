import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { AppConfig } from '@app/config';
import { isDatabaseBusy } from '@app/prisma';
import { errorBody, INTERNAL_ERROR_SAY, NOT_FOUND_SAY, type ErrorBody } from './error-body';
import { errorShapeOf, inShape, isErrorBody } from './error-shape';
import { methodsAllowedOn } from './method-not-allowed';

function reasonPhrase(status: number): string {
  const name = HttpStatus[status];
  if (!name) return 'Error';
  return name
    .toLowerCase()
    .split('_')
    .map((word) => word[0].toUpperCase() + word.slice(1))
    .join(' ');
}

/**
 * Node's error for a request whose connection closed before its body ended, as Fastify's body reader
 * hands it on: the client gave up (or its connection broke); nothing in the service failed.
 */
function isAbortedUpload(exception: unknown): boolean {
  // Read by its fields: Node makes the error in its own realm, so `instanceof Error` fails where the app runs in another (Jest's).
  const error = exception as { code?: unknown; message?: unknown } | null;
  return typeof error === 'object' && error !== null && error.code === 'ECONNRESET' && error.message === 'aborted';
}

/**
 * Prisma's errors quote the failed operation's arguments in their message, and so in their stack —
 * a bot's token and webhook secret among them — so one is logged by its class, code and meta (the
 * names of the fields involved) only. Any other error is logged whole.
 */
function loggableError(exception: unknown): unknown {
  const error = exception as { name?: unknown; code?: unknown; meta?: unknown } | null;
  if (typeof error !== 'object' || error === null || typeof error.name !== 'string' || !error.name.startsWith('PrismaClient')) return exception;
  return { type: error.name, code: error.code, meta: error.meta, message: 'the message of a database client error is not logged: it quotes the data' };
}

function pathOf(request: LoggableRequest): string {
  return request.url?.split('?')[0] ?? '';
}

/** A write still refused after PrismaService.whileLocked's wait: another process holds the shared file's write lock. */
const DATABASE_BUSY_SAY = 'The database is busy: another process holds its write lock. Nothing was changed; try again.';

interface LoggableRequest {
  id?: string;
  method?: string;
  url?: string;
  /** Fastify's: the route's config, and its own body limit when it has one (`BodyLimit`). */
  routeOptions?: { config?: unknown; bodyLimit?: number };
  /** Fastify's: the request matched no route (its not-found handler runs). */
  is404?: boolean;
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
    const { status, body, allow } = this.describe(exception, request);
    // A 5xx HttpException is an answer the app chose (502 from an upstream, 503 from a probe): the
    // access log's one line records it. Only an error nothing handled gets a line with its stack; a
    // body its client stopped sending is not one (the access log records that request as 499).
    if (isDatabaseBusy(exception)) {
      this.logger.warn(`The database is busy (another process holds its write lock): ${request.method} ${pathOf(request)} answered 503`);
      this.adapterHost.httpAdapter.setHeader(http.getResponse(), 'Retry-After', '1');
    } else if (!(exception instanceof HttpException) && !isAbortedUpload(exception)) {
      this.logger.error(
        { err: loggableError(exception), requestId: request.id },
        `Unhandled error on ${request.method} ${pathOf(request)}`,
      );
    }
    if (allow !== undefined) this.adapterHost.httpAdapter.setHeader(http.getResponse(), 'Allow', allow);
    const shaped = isErrorBody(body) ? inShape(body, errorShapeOf(request)) : body;
    this.adapterHost.httpAdapter.reply(http.getResponse(), shaped, status);
  }

  private describe(exception: unknown, request: LoggableRequest): { status: number; body: unknown; allow?: string } {
    if (isAbortedUpload(exception)) {
      return { status: HttpStatus.BAD_REQUEST, body: errorBody('The request body did not arrive: the connection closed before its end.', 'Bad Request') };
    }
    if (isDatabaseBusy(exception)) return { status: HttpStatus.SERVICE_UNAVAILABLE, body: errorBody(DATABASE_BUSY_SAY, 'Service Unavailable') };
    if (!(exception instanceof HttpException)) {
      return {
        status: HttpStatus.INTERNAL_SERVER_ERROR,
        body: errorBody(INTERNAL_ERROR_SAY, 'Internal Server Error', request.id ? { request_id: request.id } : {}),
      };
    }
    const status = exception.getStatus();
    const allowed = status === HttpStatus.NOT_FOUND && request.is404 === true ? methodsAllowedOn(this.adapterHost.httpAdapter.getInstance(), request.method ?? '', request.url ?? '') : [];
    if (allowed.length > 0) {
      const say = `${request.method} is not served on this path: it takes ${allowed.join(', ')}.`;
      return { status: HttpStatus.METHOD_NOT_ALLOWED, body: errorBody(say, 'Method Not Allowed'), allow: allowed.join(', ') };
    }
    const response = exception.getResponse();
    if (typeof response === 'object' && response !== null && !('statusCode' in response)) {
      return { status, body: response };
    }
    return { status, body: this.defaultBody(status, exception.message, request) };
  }

  private defaultBody(status: number, message: string, request: LoggableRequest): ErrorBody {
    switch (true) {
      case status === HttpStatus.NOT_FOUND:
        return errorBody(NOT_FOUND_SAY, 'Not Found');
      case status === HttpStatus.PAYLOAD_TOO_LARGE:
        return errorBody(
          `Request body is too large: the limit is ${request.routeOptions?.bodyLimit ?? this.config.http.bodyLimitBytes} bytes.`,
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
