import { Body, Controller, Get, HttpCode, HttpStatus, Post, Res, UseFilters, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { HttpCached } from '@app/cache';
import { AdminSecretGuard } from '@app/http';
import { CursorRunnerClient, type CursorRunnerReply } from '../adapters/cursor-runner';
import { CURSOR_RUNNER_CACHE } from './cursor-runner.cache';
import { CursorRunnerErrorFilter } from './cursor-runner-error.filter';
import { ExecuteRequestDto } from './dto/execute-request.dto';

/**
 * Operator proxy to cursor-runner, behind the admin secret. cursor-runner's JSON is returned as is:
 * 200 when `success` is true, else 422; when cursor-runner gives no usable answer, 502
 * `{success:false, error}` (docs/cursor-runner.md, "Answers and errors"). There is no proxy for
 * `/cursor/iterate` or git writes (`/git/clone|checkout|push|pull`): cursor-runner no longer has those
 * routes ("Routes we call"), and writes to its repositories are not an operator's HTTP call here.
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

/** cursor-runner's one git read, cached: see {@link CURSOR_RUNNER_CACHE}. */
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
  @HttpCached({ namespace: CURSOR_RUNNER_CACHE })
  async repositories(@Res({ passthrough: true }) reply: FastifyReply): Promise<CursorRunnerReply> {
    return withStatus(reply, await this.client.repositories());
  }
}
