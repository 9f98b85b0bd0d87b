import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter as BullBoardFastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppConfig, servesFeatureRoutes } from '@app/config';
import { STATUS_CODES } from 'node:http';
import { errorBody, isErrorBody, NOT_FOUND_SAY, secretsMatch } from '@app/http';
import { BullJobQueue, QueueRegistry } from '@app/queue';
import { isRedisUnreachable } from '@app/redis';
import { cameOverHttps, LOGIN_PAGE, QUEUE_BOARD_PATH, refusalOf, sessionCookie } from './admin-session';

/**
 * Bull Board, the standard BullMQ dashboard, at `/admin/queues` for every durable queue the app
 * created: counts per state, jobs with their data and errors, retry and clean. Every path under it
 * but the login form needs the admin secret (`X-Admin-Secret`, or the signed session cookie the
 * login form sets); without it the answer is 401 JSON. In the embedded mode (no Redis) there is nothing
 * for it to show: the path then answers 404 JSON saying why. Its queues are the operator views of
 * the app's queues (`operatorQueue`): with Redis frozen or down its API answers 503 within
 * `REDIS_COMMAND_TIMEOUT_MS`.
 */
@Injectable()
export class QueueBoard implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly registry: QueueRegistry,
    private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    // A worker serves no feature route (APP_ROLE=worker): no board, and no connections for one.
    if (!servesFeatureRoutes(this.config.role)) return;
    const durable = this.registry.all().filter((queue) => queue instanceof BullJobQueue);
    const queues = await Promise.all(durable.map((queue) => queue.operatorQueue()));
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    void fastify.register((scope, _options, done) => this.mount(scope, queues, done), { prefix: QUEUE_BOARD_PATH });
  }

  private mount(scope: FastifyInstance, queues: Queue[], done: (error?: Error) => void): void {
    scope.get('/login', (_request, reply) => reply.type('text/html; charset=utf-8').send(LOGIN_PAGE));
    scope.post('/login', (request, reply) => this.logIn(request, reply));
    scope.register((guarded, _options, registered) => {
      guarded.addHook('onRequest', (request, reply, next) => {
        const refusal = refusalOf(request.headers, this.config.secrets.webhook);
        if (!refusal) return next();
        void reply.code(401).send(refusal);
      });
      // A path under the dashboard that does not exist is behind the secret too: without it, a 404
      // where a real path answers 401 told a caller which paths exist.
      guarded.setNotFoundHandler((_request, reply) => void reply.code(404).send(errorBody(NOT_FOUND_SAY, 'Not Found')));
      if (queues.length === 0) {
        const why = errorBody(
          'The queue dashboard is not mounted: this instance runs without Redis (embedded mode), so its jobs wait in ' +
            'process memory, which the dashboard cannot read. Set REDIS_URL to use durable queues and the dashboard.',
          'Not Found',
        );
        guarded.get('/', (_request, reply) => reply.code(404).send(why));
        guarded.get('/*', (_request, reply) => reply.code(404).send(why));
        return registered();
      }
      guarded.addHook('preValidation', (request, reply, next) => {
        const where = nulCharacterIn(request);
        if (!where) return next();
        void reply.code(400).send(errorBody(`The queue dashboard takes no NUL character (\\u0000, %00) in ${where}.`, 'Bad Request'));
      });
      guarded.addHook('onSend', (_request, reply, payload, next) => next(null, inServiceShape(reply, payload)));
      const board = new ServiceBoardAdapter().setBasePath(QUEUE_BOARD_PATH);
      createBullBoard({ queues: queues.map((queue) => new BullMQAdapter(queue)), serverAdapter: board });
      guarded.register(board.registerPlugin());
      registered();
    });
    done();
  }

  private logIn(request: FastifyRequest, reply: FastifyReply): FastifyReply {
    const body = request.body && typeof request.body === 'object' ? (request.body as Record<string, unknown>) : {};
    const secret = body.admin_secret;
    if (typeof secret !== 'string' || secret.length === 0) {
      return reply
        .code(400)
        .send(errorBody('Send the admin secret as admin_secret in a form or JSON body.', 'Bad Request'));
    }
    if (!secretsMatch(secret, this.config.secrets.webhook)) return reply.code(401).send(errorBody('The admin secret is wrong.', 'Unauthorized'));
    return reply
      .header('set-cookie', sessionCookie(this.config.secrets.webhook, cameOverHttps(request.protocol, request.headers['x-forwarded-proto'])))
      .redirect(`${QUEUE_BOARD_PATH}/`, 303);
  }
}

type BoardErrorHandler = Parameters<BullBoardFastifyAdapter['setErrorHandler']>[0];

/**
 * Bull Board's Fastify adapter, whose error handler answers what is not the service's fault with a
 * 4xx or 503 (Bull Board's own answers every thrown error with 500): a Redis that did not answer
 * (503, to be tried again), and an action BullMQ refuses for the job's state (409: promoting a job
 * that is not delayed) or for a job that is gone (404).
 */
class ServiceBoardAdapter extends BullBoardFastifyAdapter {
  override setErrorHandler(handler: BoardErrorHandler): this {
    return super.setErrorHandler((error) => (isRedisUnreachable(error) ? REDIS_UNANSWERED : (refusedJobAction(error) ?? handler(error))));
  }
}

/**
 * BullMQ's refusals of an action on a job (its scripts' error codes, worded in `Scripts.finishedErrors`,
 * BullMQ 5.81), by the status that says whose they are.
 */
const REFUSED_JOB_ACTIONS: [RegExp, 404 | 409][] = [
  [/^Missing key for job \S+\./, 404],
  [/^Job \S+ is not in the \S+ state\./, 409],
  [/^Job \S+ has pending dependencies\./, 409],
  [/^Job \S+ belongs to a job scheduler and cannot be removed directly\./, 409],
];

function refusedJobAction(error: Error): ReturnType<BoardErrorHandler> | undefined {
  const status = REFUSED_JOB_ACTIONS.find(([pattern]) => pattern.test(error.message))?.[1];
  if (status === undefined) return undefined;
  const say = error.message.replace(/\.\s.*$/s, '.').replace(/^Missing key for job (\S+)\./, 'Job $1 does not exist.');
  return { status, body: errorBody(say, STATUS_CODES[status] ?? 'Error') };
}

/** Bull Board's typings list only the statuses it answers itself; its Fastify adapter sends any. */
const REDIS_UNANSWERED = {
  status: 503,
  body: errorBody(
    'Redis could not be reached or did not answer in time, so the queue dashboard could not read the queues or tell whether a change it sent was made ' +
      '(one sent may still be made when Redis answers). Look again shortly.',
    'Service Unavailable',
  ),
} as unknown as ReturnType<BoardErrorHandler>;

/**
 * Bull Board's API words its errors `{error: {key}, message?}`; the service answers every error in one
 * shape, so they are re-worded as `{ok: false, say, result: {error, key}}` (Bull Board's translation key kept).
 */
function inServiceShape(reply: FastifyReply, payload: unknown): unknown {
  if (reply.statusCode < 400 || typeof payload !== 'string' || !String(reply.getHeader('content-type')).startsWith('application/json')) {
    return payload;
  }
  let body: { error?: { key?: unknown }; message?: unknown };
  try {
    body = JSON.parse(payload) as typeof body;
  } catch {
    return payload;
  }
  if (isErrorBody(body)) return payload;
  const key = typeof body.error?.key === 'string' ? body.error.key : undefined;
  const say = typeof body.message === 'string' && body.message ? body.message : `The queue dashboard refused the request${key ? ` (${key})` : ''}.`;
  return JSON.stringify(errorBody(say, STATUS_CODES[reply.statusCode] ?? 'Error', key ? { key } : {}));
}

/** Body fields Bull Board passes on unvalidated: a job's data, which may hold any string. */
const UNVALIDATED_BODY_FIELDS = new Set(['data', 'jobData']);

/**
 * Where a string with a NUL character is in the request's query, path or body (outside a job's
 * data), if anywhere. Bull Board 9.10 joins an error's translation key and its options with a NUL
 * and splits them again when it rejects a request; a rejected value holding a NUL (`status=%00`)
 * makes that split parse half a message as JSON, and the answer a 500.
 */
function nulCharacterIn(request: FastifyRequest): string | undefined {
  for (const [part, values] of [
    ['the query', request.query],
    ['the path', request.params],
  ] as const) {
    for (const [name, value] of Object.entries((values ?? {}) as Record<string, unknown>)) {
      if (holdsNul(value)) return `${part} (${name})`;
    }
  }
  const body = request.body;
  if (typeof body === 'string') return body.includes('\0') ? 'the body' : undefined;
  if (body === null || typeof body !== 'object') return undefined;
  for (const [name, value] of Object.entries(body)) {
    if (!UNVALIDATED_BODY_FIELDS.has(name) && holdsNul(value)) return `the body (${name})`;
  }
  return undefined;
}

/** Whether `value`, or a string anywhere inside it, holds a NUL character. Bounded by the body limit. */
function holdsNul(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const next = pending.pop();
    if (typeof next === 'string') {
      if (next.includes('\0')) return true;
    } else if (next !== null && typeof next === 'object') {
      for (const [key, inner] of Object.entries(next)) {
        if (key.includes('\0')) return true;
        pending.push(inner);
      }
    }
  }
  return false;
}
