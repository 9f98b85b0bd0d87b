import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { AppConfig } from '@app/config';
import { firstPresentSecret, secretsMatch } from './constant-time';
import { errorBody } from './error-body';

/** The header operators send the admin secret in. */
export const ADMIN_SECRET_HEADER = 'x-admin-secret';

/** The query or body field operators may send the admin secret in instead. */
export const ADMIN_SECRET_FIELD = 'admin_secret';

interface RequestWithSecret {
  headers: Record<string, string | string[] | undefined>;
  query?: Record<string, unknown>;
  body?: unknown;
}

/**
 * Admin routes: the first non-empty of header `X-Admin-Secret`, `admin_secret` in the query or the
 * body must equal `WEBHOOK_SECRET` (constant-time compare, no blank bypass), else 401 JSON.
 */
@Injectable()
export class AdminSecretGuard implements CanActivate {
  constructor(private readonly config: AppConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<RequestWithSecret>();
    const body = request.body && typeof request.body === 'object' ? (request.body as Record<string, unknown>) : {};
    const presented = firstPresentSecret(request.headers[ADMIN_SECRET_HEADER], request.query?.[ADMIN_SECRET_FIELD], body[ADMIN_SECRET_FIELD]);
    if (secretsMatch(presented, this.config.secrets.webhook)) return true;
    throw new UnauthorizedException(
      errorBody(
        presented ? 'The admin secret is wrong.' : 'The admin secret is missing: send it in the X-Admin-Secret header.',
        'Unauthorized',
      ),
    );
  }
}
