import { CanActivate, ExecutionContext, Injectable, Logger, UnauthorizedException } from '@nestjs/common';
import { AppConfig } from '@app/config';
import { errorBody, firstPresentSecret, secretsMatch } from '@app/http';

interface RequestWithHeaders {
  headers: Record<string, string | string[] | undefined>;
}

/**
 * `/agent-tools`: the secret is header `X-EL-Secret`, else the token of
 * `Authorization: Bearer <token>`; it must equal `WEBHOOK_SECRET` (constant-time compare, no blank
 * bypass), else 401 JSON.
 */
@Injectable()
export class AgentToolsSecretGuard implements CanActivate {
  private readonly logger = new Logger('AgentTools');

  constructor(private readonly config: AppConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<RequestWithHeaders>();
    const bearer = /^Bearer\s+(\S.*)$/i.exec(firstPresentSecret(request.headers.authorization) ?? '')?.[1];
    const presented = firstPresentSecret(request.headers['x-el-secret'], bearer);
    if (secretsMatch(presented, this.config.secrets.webhook)) return true;
    this.logger.warn('Unauthorized tool request - invalid secret');
    throw new UnauthorizedException(
      errorBody(
        presented
          ? 'The tool secret is wrong.'
          : 'The tool secret is missing: send it in the X-EL-Secret header or as Authorization: Bearer.',
        'Unauthorized',
      ),
    );
  }
}
