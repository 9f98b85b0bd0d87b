import { CanActivate, ExecutionContext, Injectable, Logger, UnauthorizedException } from '@nestjs/common';
import type { FastifyInstance, onRequestAsyncHookHandler, RouteOptions } from 'fastify';
import { AppConfig } from '@app/config';
import { firstPresentSecret, secretsMatch } from '@app/http';
import { CURSOR_RUNNER_CALLBACK_PATH } from '../../adapters/cursor-runner';

interface CallbackRequest {
  headers: Record<string, string | string[] | undefined>;
  query?: unknown;
  ip?: string;
}

/** The secret a callback presents: the first non-empty of the two headers and the `secret` query parameter. */
export function presentedCallbackSecret(request: CallbackRequest): string | undefined {
  return firstPresentSecret(
    request.headers['x-webhook-secret'],
    request.headers['x-cursor-runner-secret'],
    (request.query as Record<string, unknown> | undefined)?.secret,
  );
}

/**
 * cursor-runner's callback (docs/cursor-runner.md, "Callback contract"): the first non-empty of header
 * `X-Webhook-Secret`, header `X-Cursor-Runner-Secret`, query `secret` must equal `WEBHOOK_SECRET`,
 * compared in constant time; else a warning without the secret and 401 `{error: "Unauthorized"}`.
 *
 * A blank `WEBHOOK_SECRET` never lets every callback in: the configuration turns it into its
 * default and refuses that default in production, and an empty presented secret never matches.
 */
@Injectable()
export class CallbackSecretGuard implements CanActivate {
  private readonly logger = new Logger('CursorRunnerCallback');

  constructor(private readonly config: AppConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<CallbackRequest>();
    if (authenticated(request, this.config, this.logger)) return true;
    throw new UnauthorizedException(UNAUTHORIZED);
  }
}

const UNAUTHORIZED = { error: 'Unauthorized' };

/** Whether `request` presents the callback secret; a refusal is logged, without the secret. */
function authenticated(request: CallbackRequest, config: AppConfig, logger: Logger): boolean {
  const presented = presentedCallbackSecret(request);
  if (secretsMatch(presented, config.secrets.webhook)) return true;
  logger.warn(
    `Unauthorized cursor-runner callback - invalid secret (provided_secret: ${presented ? 'present' : 'missing'}, ip: ${request.ip ?? 'unknown'})`,
  );
  return false;
}

/** Whether a route being registered is the callback route (`POST /cursor-runner/callback`). */
export function isCallbackRoute(route: Pick<RouteOptions, 'url' | 'method'>): boolean {
  return route.url === CURSOR_RUNNER_CALLBACK_PATH && [route.method].flat().includes('POST');
}

/**
 * Refuses a callback without the secret in its route's `onRequest` hook, before its body is read:
 * a callback body may be tens of megabytes (`CALLBACK_BODY_LIMIT_BYTES`), and the guard above runs
 * only once it has been read and parsed, so unauthenticated clients could make the service buffer
 * and parse bodies of that size concurrently for a 401. The guard stays for the route's own
 * contract; the answer and the log line are the same.
 */
export function installCallbackAuthentication(fastify: FastifyInstance, config: AppConfig): void {
  const logger = new Logger('CursorRunnerCallback');
  const refuseWithoutSecret: onRequestAsyncHookHandler = async (request, reply) => {
    if (authenticated(request, config, logger)) return;
    // The unread body is then read and dropped by Node, not buffered.
    return reply.code(401).send(UNAUTHORIZED);
  };
  fastify.addHook('onRoute', (route) => {
    if (!isCallbackRoute(route)) return;
    route.onRequest = [...(route.onRequest === undefined ? [] : [route.onRequest].flat()), refuseWithoutSecret];
  });
}
