import {
  BadRequestException,
  Body,
  Controller,
  Get,
  GoneException,
  HttpCode,
  HttpStatus,
  Injectable,
  NotFoundException,
  Param,
  Post,
  Res,
  UseFilters,
  UseGuards,
  type PipeTransform,
} from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { HttpCached } from '@app/cache';
import { AdminSecretGuard, errorBody } from '@app/http';
import {
  CursorRunnerClient,
  CursorRunnerHttpError,
  REPOSITORY_NAME_PATTERN,
  type CursorRunnerReply,
  type RepositoryFileNode,
} from '../adapters/cursor-runner';
import { CURSOR_RUNNER_CACHE } from './cursor-runner.cache';
import { CursorRunnerErrorFilter } from './cursor-runner-error.filter';
import { ExecuteRequestDto } from './dto/execute-request.dto';

/**
 * Operator proxy to cursor-runner (domain.md §2.6), behind the admin secret (the original left it
 * open). cursor-runner's JSON is returned as is: 200 when `success` is true, else 422; when
 * cursor-runner gives no usable answer, 502 `{success:false, error}`. The original's `/cursor/iterate`
 * and git write proxies (`/git/clone|checkout|push|pull`) are not offered: cursor-runner no longer
 * has those routes (§6.1), and writes to its repositories are not an operator's HTTP call here.
 */
@Controller('cursor-runner/cursor')
@UseGuards(AdminSecretGuard)
@UseFilters(CursorRunnerErrorFilter)
export class CursorRunnerController {
  constructor(private readonly client: CursorRunnerClient) {}

  /** Runs a prompt and waits for the result (up to `CURSOR_RUNNER_TIMEOUT` seconds). */
  @Post('execute')
  @HttpCode(HttpStatus.OK)
  async execute(
    @Body() body: ExecuteRequestDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CursorRunnerReply> {
    return withStatus(reply, await this.client.execute(body.toTask()));
  }

  /**
   * Starts a run; cursor-runner acknowledges at once and later POSTs the result to this service's
   * callback route. The callback URL is always this service's own: a caller-chosen URL would
   * receive the webhook secret cursor-runner sends with every callback.
   */
  @Post('execute/async')
  @HttpCode(HttpStatus.OK)
  async executeAsync(
    @Body() body: ExecuteRequestDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CursorRunnerReply> {
    return withStatus(reply, await this.client.executeAsync(body.toTask()));
  }
}

function withStatus(reply: FastifyReply, result: CursorRunnerReply): CursorRunnerReply {
  if (result.success !== true) reply.status(HttpStatus.UNPROCESSABLE_ENTITY);
  return result;
}

/** cursor-runner's error message for a route it does not have. */
const ROUTE_NOT_FOUND = 'Route not found';

export const GIT_REPOSITORIES_GONE =
  'GET /cursor-runner/git/repositories is gone: cursor-runner no longer lists its repositories. ' +
  "Use GET /cursor-runner/repositories/:repository/files for a repository's file tree.";

/** 400 naming the parameter unless it is a {@link REPOSITORY_NAME_PATTERN} name. */
@Injectable()
class RepositoryNamePipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!REPOSITORY_NAME_PATTERN.test(value)) {
      throw new BadRequestException(
        errorBody("repository must be one folder name: 1-100 letters, digits, '.', '_' or '-', not starting with '.'", 'Bad Request', {
          fields: [{ field: 'repository', message: 'must be one folder name' }],
        }),
      );
    }
    return value;
  }
}

/**
 * What cursor-runner serves about its repositories. A repository's file tree is cached 30 s
 * ({@link CURSOR_RUNNER_CACHE}); the repository list of older cursor-runner builds is gone.
 */
@Controller('cursor-runner')
@UseGuards(AdminSecretGuard)
@UseFilters(CursorRunnerErrorFilter)
export class CursorRunnerRepositoriesController {
  constructor(private readonly client: CursorRunnerClient) {}

  /**
   * cursor-runner's file tree of one repository, as it sent it (a JSON array), kept 30 s. An
   * unknown repository is a 404 with cursor-runner's message, not cached; a name that is not one
   * folder name is a 400 before cursor-runner is asked.
   */
  @Get('repositories/:repository/files')
  @HttpCached({ namespace: CURSOR_RUNNER_CACHE })
  async files(@Param('repository', RepositoryNamePipe) repository: string): Promise<RepositoryFileNode[]> {
    try {
      return await this.client.repositoryFiles(repository);
    } catch (error) {
      // cursor-runner answers an unknown route with 404 "Route not found" too: that one stays a 502.
      if (error instanceof CursorRunnerHttpError && error.status === HttpStatus.NOT_FOUND && error.message !== ROUTE_NOT_FOUND) {
        throw new NotFoundException(errorBody(error.message, 'Not Found'));
      }
      throw error;
    }
  }

  /** cursor-runner builds after 2025-11-14 have no repository list; the answer names what replaced it. */
  @Get('git/repositories')
  repositories(): never {
    throw new GoneException(errorBody(GIT_REPOSITORIES_GONE, 'Gone'));
  }
}
