import {
  BadRequestException,
  ConflictException,
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
  ServiceUnavailableException,
  UseFilters,
  UseGuards,
  type PipeTransform,
} from '@nestjs/common';
import {
  ApiBadGatewayResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { HttpCached } from '@app/cache';
import { AdminSecretGuard, ApiErrors, errorBody } from '@app/http';
import {
  CursorRunnerClient,
  CursorRunnerHttpError,
  isValidRequestId,
  newRequestId,
  REPOSITORY_NAME_PATTERN,
  type CursorRunnerReply,
  type RepositoryFileNode,
} from '../adapters/cursor-runner';
import { PendingRequestStoreError, RunRequests, type RunStatus } from '../conversation';
import { CURSOR_RUNNER_CACHE } from './cursor-runner.cache';
import { CursorRunnerErrorFilter } from './cursor-runner-error.filter';
import { CURSOR_RUNNER_FAILURE_SCHEMA, CURSOR_RUNNER_REPLY_SCHEMA, FILE_TREE_SCHEMA, RUN_STATUS_SCHEMA } from './cursor-runner.openapi';
import { API_REQUEST_ID_MAX_LENGTH, ExecuteRequestDto } from './dto/execute-request.dto';

const ApiUpstreamFailure = ApiBadGatewayResponse({
  description: 'cursor-runner gave no usable answer (down, timed out, not JSON, an HTTP error).',
  schema: CURSOR_RUNNER_FAILURE_SCHEMA,
});
const ApiRunFailed = ApiUnprocessableEntityResponse({
  description: "cursor-runner's answer with `success` not true, as it sent it.",
  schema: CURSOR_RUNNER_REPLY_SCHEMA,
});

/**
 * Operator proxy to cursor-runner, behind the admin secret. cursor-runner's JSON is returned as is:
 * 200 when `success` is true, else 422; when cursor-runner gives no usable answer, 502
 * `{success:false, error}` (docs/cursor-runner.md, "Answers and errors"). There is no proxy for
 * `/cursor/iterate` or git writes (`/git/clone|checkout|push|pull`): cursor-runner no longer has those
 * routes ("Routes we call"), and writes to its repositories are not an operator's HTTP call here.
 */
@ApiTags('cursor-runner proxy')
@ApiUpstreamFailure
@ApiRunFailed
@Controller('cursor-runner/cursor')
@UseGuards(AdminSecretGuard)
@UseFilters(CursorRunnerErrorFilter)
export class CursorRunnerController {
  constructor(
    private readonly client: CursorRunnerClient,
    private readonly runs: RunRequests,
  ) {}

  /** Runs a prompt and waits for the result (up to `CURSOR_RUNNER_TIMEOUT` seconds). */
  @Post('execute')
  @ApiOperation({ summary: 'Runs a prompt and waits for the result (up to CURSOR_RUNNER_TIMEOUT seconds)' })
  @ApiOkResponse({ schema: CURSOR_RUNNER_REPLY_SCHEMA })
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
   * receive the webhook secret cursor-runner sends with every callback. The run is registered
   * first as an API client's pending request, so its result is kept for `GET
   * /cursor-runner/requests/:id`; a run cursor-runner does not take is forgotten again.
   */
  @Post('execute/async')
  @ApiOperation({ summary: "Starts a run; the result comes later to this service's callback route" })
  @ApiOkResponse({ schema: CURSOR_RUNNER_REPLY_SCHEMA })
  @ApiErrors({
    409: 'The request id is taken: a request under it awaits its result, or its result is kept; nothing was started.',
    503: 'The pending request store (Redis) did not answer; nothing was started, and the id stays free for a retry.',
  })
  @HttpCode(HttpStatus.OK)
  async executeAsync(
    @Body() body: ExecuteRequestDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CursorRunnerReply> {
    const task = { ...body.toTask(), id: body.id ?? newRequestId() };
    const run = await storeOr503(() => this.runs.registerApiRun(task.id, task.prompt));
    if (!run) {
      throw new ConflictException(
        errorBody(
          `The request id ${task.id} is taken: a request under it awaits its result, or its result is kept (for an hour after it came). ` +
            'Send another id, or none to have one made.',
          'Conflict',
        ),
      );
    }
    let answer: CursorRunnerReply;
    try {
      answer = await this.client.executeAsync(task);
    } catch (error) {
      await run.forget();
      throw error;
    }
    if (answer.success !== true) await run.forget();
    return withStatus(reply, answer);
  }
}

/** Runs a pending-store operation; the store's failure is a 503, not a 500. */
async function storeOr503<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (!(error instanceof PendingRequestStoreError)) throw error;
    throw new ServiceUnavailableException(errorBody('The pending request store is unavailable; try again later.', 'Service Unavailable'));
  }
}

/**
 * Where a cursor-runner request stands: `{requestId, status: "pending"}` while its result is
 * awaited, `{requestId, status: "completed", result}` for an hour after it came (`result` as
 * cursor-runner sent it: success, exitCode, output, error, duration). Runs started here and by
 * Telegram messages alike; never the chat a request came from.
 */
@ApiTags('cursor-runner proxy')
@Controller('cursor-runner/requests')
@UseGuards(AdminSecretGuard)
export class CursorRunnerRequestsController {
  constructor(private readonly runs: RunRequests) {}

  @Get(':id')
  @ApiOperation({ summary: 'Where a cursor-runner request stands; its result for an hour after it came' })
  @ApiOkResponse({ schema: RUN_STATUS_SCHEMA })
  @ApiErrors({
    404: 'No such request, or its result expired.',
    414: 'The id is over 100 characters (Fastify refuses the path parameter).',
    503: 'The pending request store (Redis) did not answer; try again.',
  })
  async status(@Param('id') id: string): Promise<RunStatus> {
    if (!isValidRequestId(id)) {
      throw new BadRequestException(
        errorBody(`id must be 1-${API_REQUEST_ID_MAX_LENGTH} letters, digits or dashes`, 'Bad Request', {
          fields: [{ field: 'id', message: 'must be a request id' }],
        }),
      );
    }
    const status = await storeOr503(() => this.runs.statusOf(id));
    if (status === null) throw new NotFoundException(errorBody(`No request ${id}: unknown, or its result expired`, 'Not Found'));
    return status;
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
@ApiTags('cursor-runner proxy')
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
  @ApiOperation({ summary: "A repository's file tree from cursor-runner (cached 30 s)" })
  @ApiOkResponse({ schema: FILE_TREE_SCHEMA })
  @ApiErrors({ 404: 'cursor-runner has no such repository (its message, not cached).' })
  @ApiUpstreamFailure
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
  @ApiOperation({ summary: 'Gone: cursor-runner no longer lists its repositories', deprecated: true })
  @ApiErrors({ 410: 'Gone; the message names the route that replaced it.' })
  repositories(): never {
    throw new GoneException(errorBody(GIT_REPOSITORIES_GONE, 'Gone'));
  }
}
