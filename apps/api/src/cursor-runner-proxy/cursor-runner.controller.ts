import { Body, Controller, Get, HttpCode, HttpStatus, Post, Res, UseFilters, UseGuards } from '@nestjs/common';
import {
  ApiBadGatewayResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { HttpCached } from '@app/cache';
import { AdminSecretGuard } from '@app/http';
import { CursorRunnerClient, type CursorRunnerReply } from '../adapters/cursor-runner';
import { CURSOR_RUNNER_CACHE } from './cursor-runner.cache';
import { CursorRunnerErrorFilter } from './cursor-runner-error.filter';
import { CURSOR_RUNNER_FAILURE_SCHEMA, CURSOR_RUNNER_REPLY_SCHEMA, REPOSITORIES_SCHEMA } from './cursor-runner.openapi';
import { ExecuteRequestDto } from './dto/execute-request.dto';

const ApiUpstreamFailure = ApiBadGatewayResponse({
  description: 'cursor-runner gave no usable answer (down, timed out, not JSON, an HTTP error).',
  schema: CURSOR_RUNNER_FAILURE_SCHEMA,
});
const ApiRunFailed = ApiUnprocessableEntityResponse({
  description: "cursor-runner's answer with `success` not true, as it sent it.",
  schema: CURSOR_RUNNER_REPLY_SCHEMA,
});

/**
 * Operator proxy to cursor-runner (domain.md §2.6), behind the admin secret (the original left it
 * open). cursor-runner's JSON is returned as is: 200 when `success` is true, else 422; when
 * cursor-runner gives no usable answer, 502 `{success:false, error}`. The original's `/cursor/iterate`
 * and git write proxies (`/git/clone|checkout|push|pull`) are not offered: cursor-runner no longer
 * has those routes (§6.1), and writes to its repositories are not an operator's HTTP call here.
 */
@ApiTags('cursor-runner proxy')
@ApiUpstreamFailure
@ApiRunFailed
@Controller('cursor-runner/cursor')
@UseGuards(AdminSecretGuard)
@UseFilters(CursorRunnerErrorFilter)
export class CursorRunnerController {
  constructor(private readonly client: CursorRunnerClient) {}

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
   * receive the webhook secret cursor-runner sends with every callback.
   */
  @Post('execute/async')
  @ApiOperation({ summary: "Starts a run; the result comes later to this service's callback route" })
  @ApiOkResponse({ schema: CURSOR_RUNNER_REPLY_SCHEMA })
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

/** The one read of the original's git proxies (domain.md §2.6), cached: see {@link CURSOR_RUNNER_CACHE}. */
@ApiTags('cursor-runner proxy')
@ApiUpstreamFailure
@ApiRunFailed
@Controller('cursor-runner/git')
@UseGuards(AdminSecretGuard)
@UseFilters(CursorRunnerErrorFilter)
export class CursorRunnerGitController {
  constructor(private readonly client: CursorRunnerClient) {}

  /**
   * `{success, repositories, count}` from cursor-runner, kept 30 s. Only a successful answer is
   * cached; current cursor-runner builds no longer serve the route and get 502 every time.
   */
  @Get('repositories')
  @ApiOperation({ summary: "cursor-runner's repositories (cached 30 s)" })
  @ApiOkResponse({ schema: REPOSITORIES_SCHEMA })
  @HttpCached({ namespace: CURSOR_RUNNER_CACHE })
  async repositories(@Res({ passthrough: true }) reply: FastifyReply): Promise<CursorRunnerReply> {
    return withStatus(reply, await this.client.repositories());
  }
}
