import { FASTIFY_ROUTE_CONFIG_METADATA } from '@nestjs/platform-fastify/constants';
import type { ErrorBody } from './error-body';
import { AddRouteConfig } from './route-config';

/**
 * How a route family words its errors:
 * - `say` (every route unless marked): `{ok:false, say, result:{error, ...}}`;
 * - `error-only` (`POST /cursor-runner/callback`, whose caller is cursor-runner):
 *   `{error: <sentence>, ...}`.
 * Errors raised by the platform before a handler runs (malformed or too deeply nested JSON, too
 * large a body, an unsupported content type) take the shape of the route they were sent to.
 */
export type ErrorShape = 'say' | 'error-only';

const ERROR_SHAPE = 'errorShape';

/** Marks a route whose errors are `{error: <sentence>}` (see {@link ErrorShape}). */
export const ErrorOnlyShape = (): MethodDecorator => AddRouteConfig({ [ERROR_SHAPE]: 'error-only' satisfies ErrorShape });

interface RequestWithRouteConfig {
  routeOptions?: { config?: unknown };
}

/** The error shape of the route a request matched; `say` when it matched none. */
export function errorShapeOf(request: RequestWithRouteConfig | undefined): ErrorShape {
  const config = request?.routeOptions?.config as Record<string, unknown> | undefined;
  return config?.[ERROR_SHAPE] === 'error-only' ? 'error-only' : 'say';
}

/** The error shape a controller method declares (for the OpenAPI document, before any request). */
export function declaredErrorShape(handler: object): ErrorShape {
  return errorShapeOf({ routeOptions: { config: Reflect.getMetadata(FASTIFY_ROUTE_CONFIG_METADATA, handler) } });
}

/** `body` worded for a route family: an `error-only` route gets the sentence as `error`, details kept. */
export function inShape(body: ErrorBody, shape: ErrorShape): ErrorBody | Record<string, unknown> {
  if (shape === 'say') return body;
  const { error: _reason, ...details } = body.result;
  return { error: body.say, ...details };
}

/** Whether `value` is an {@link ErrorBody}, the shape the filter may re-word for a route family. */
export function isErrorBody(value: unknown): value is ErrorBody {
  if (typeof value !== 'object' || value === null) return false;
  const body = value as Partial<ErrorBody>;
  return body.ok === false && typeof body.say === 'string' && typeof body.result === 'object' && body.result !== null;
}
