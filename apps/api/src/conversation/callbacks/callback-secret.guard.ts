import { CanActivate, ExecutionContext, Injectable, Logger, UnauthorizedException } from '@nestjs/common';
import { AppConfig } from '@app/config';
import { firstPresentSecret, secretsMatch } from '@app/http';

interface CallbackRequest {
  headers: Record<string, string | string[] | undefined>;
  query?: Record<string, unknown>;
  ip?: string;
}

/**
 * cursor-runner's callback (docs/cursor-runner.md, "Callback"): the first non-empty of header
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
    const presented = firstPresentSecret(
      request.headers['x-webhook-secret'],
      request.headers['x-cursor-runner-secret'],
      request.query?.secret,
    );
    if (secretsMatch(presented, this.config.secrets.webhook)) return true;
    this.logger.warn(
      `Unauthorized cursor-runner callback - invalid secret (provided_secret: ${presented ? 'present' : 'missing'}, ip: ${request.ip ?? 'unknown'})`,
    );
    throw new UnauthorizedException({ error: 'Unauthorized' });
  }
}
