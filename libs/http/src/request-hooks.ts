import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Logger } from '@nestjs/common';
import type { FastifyAdapter } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from './error-body';

/** Work done for every request, synchronously, on a hook Nest's Fastify adapter already runs. */
export type RequestObserver = (request: FastifyRequest, reply: FastifyReply) => void;

/**
 * Work done once a request is answered, or its connection closed before it was. `elapsedMs` is the
 * answer's `reply.elapsedTime`, read once for all of them, so the access line and the duration
 * histogram carry the same duration and the getter runs once a request. `statusCode` is the answer's
 * (one written on the socket directly included, {@link answeredOnSocket}), or {@link CLIENT_CLOSED_REQUEST}
 * when the connection closed before the answer's status was sent.
 */
export type AnswerObserver = (request: FastifyRequest, elapsedMs: number, statusCode: number) => void;

/**
 * The status observers are given for a request whose connection closed before its answer's status
 * was sent — or, pipelined behind another, before its answer began to be sent: nginx's "client closed
 * request", which no answer carries, so a log or a dashboard tells such requests from the answered ones.
 */
export const CLIENT_CLOSED_REQUEST = 499;

/**
 * The status of a request pipelined behind an answer that closes its connection: it is not processed,
 * as RFC 9112 (section 9.6) requires once a response carries `Connection: close`, because its answer
 * could never be sent. Node itself would run its route and drop the answer, so a client retrying the
 * unanswered request would have it processed twice.
 */
const CONNECTION_CLOSING = 503;

/**
 * Where a request's reply waits, on Node's response object, until it has been observed as answered:
 * the reply while its answer is awaited, `null` once observed. Responses of requests that never
 * reached `onRequest` (Fastify's framework errors) have neither.
 */
const AWAITED_REPLY = Symbol('awaited reply');

/**
 * A pipelined request's response waits, without a socket, until the responses before it on its
 * connection have finished, and Node forgets it if the connection closes first. Such responses are
 * kept on their connection from `onRequest` until they finish. A request on a connection with nothing
 * ahead of it has its socket at once and costs one comparison.
 */
const QUEUED_RESPONSES = Symbol('queued responses');

/**
 * Set on a connection that is to close after the answers owed on it ({@link closeAfterAnswers}) or on
 * which a request was refused for that reason: nothing more is run on it.
 */
const CLOSING = Symbol('closing after its answers');

/**
 * The status written for a response's request on its socket directly, outside Fastify ({@link
 * answeredOnSocket}): the status its observers get when the connection then closes.
 */
const SOCKET_ANSWER = Symbol('status answered on the socket');

/** An answer written on a request's socket directly, outside Fastify: its status and what its body said. */
export interface SocketAnswer {
  status: number;
  say: string;
}

interface ObservedResponse extends ServerResponse {
  [AWAITED_REPLY]?: FastifyReply | null;
  [SOCKET_ANSWER]?: SocketAnswer;
  /** Node's mark of a response after which it closes the connection (undocumented, set with its headers). */
  _last?: boolean;
}

/**
 * The response Node's HTTP server is writing on a connection, until it has finished
 * (`socket._httpMessage`: undocumented, read by Node's own server and by graceful-shutdown libraries).
 */
interface ServerSocket extends Socket {
  _httpMessage?: ObservedResponse | null;
  [QUEUED_RESPONSES]?: Set<ObservedResponse>;
  [CLOSING]?: true;
}

interface Observers {
  arrived: RequestObserver[];
  answered: AnswerObserver[];
}

const observersByAdapter = new WeakMap<FastifyAdapter, Observers>();

const logger = new Logger('RequestHooks');

/**
 * Nest's `FastifyAdapter` adds an `onRequest` and an `onResponse` hook of its own to every app, and
 * calls from them whatever `setOnRequestHook` / `setOnResponseHook` gave it (Nest itself gives them
 * nothing). The app's per-request work — the request-id header, the access log, the request-duration
 * histogram — rides on those two instead of adding Fastify hooks, so the request path has exactly the
 * hooks of a stock Nest app and what a request costs beyond one is the observers' own work
 * (docs/architecture.md, "Per-request work"). The adapter keeps one function per slot, so the slots
 * are taken here once and everything else goes through {@link onRequestArrived} and {@link onRequestAnswered}.
 *
 * Fastify runs `onResponse` only when Node's response emits `finish`. A response whose connection
 * closes first never does: one whose client left before the route answered (on every Node version),
 * and on Node 24 and 26, unlike 20, also one whose client left while the answer was being sent.
 * Those are observed when their connection closes, from one `close` listener per connection — the
 * response being written and any pipelined behind it — so that each request that reached the hooks
 * is observed exactly once however it ended.
 *
 * An answer observer that throws is logged and the others still run: the answer has been sent, so
 * there is no one to tell but the log, and a throw from the `close` listener would otherwise be an
 * uncaught exception that stops the process.
 */
function observersOf(adapter: FastifyAdapter): Observers {
  let observers = observersByAdapter.get(adapter);
  if (observers) return observers;
  const created: Observers = { arrived: [], answered: [] };
  const observeAnswer = (reply: FastifyReply, statusCode: number): void => {
    const elapsedMs = reply.elapsedTime;
    for (const observe of created.answered) {
      try {
        observe(reply.request, elapsedMs, statusCode);
      } catch (error) {
        logger.error({ err: error, requestId: reply.request.id }, 'an answered-request observer failed');
      }
    }
  };
  adapter.setOnRequestHook((request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const response = reply.raw as ObservedResponse;
    response[AWAITED_REPLY] = reply;
    for (const observe of created.arrived) observe(request, reply);
    if (response.socket === null) {
      const socket = request.raw.socket as ServerSocket;
      if (closesAhead(socket)) {
        socket[CLOSING] = true;
        response[AWAITED_REPLY] = null;
        observeAnswer(reply, CONNECTION_CLOSING);
        // Not `done()`: the route does not run. The answer waits behind the closing one: dropped with the
        // connection, or sent after it when that one's headers went out before it was to close.
        void reply
          .code(CONNECTION_CLOSING)
          .header('connection', 'close')
          .send(errorBody('This connection is closing; send the request again on a new one.', 'Connection Closing'));
        return;
      }
      (socket[QUEUED_RESPONSES] ??= new Set()).add(response);
    }
    done();
  });
  adapter.setOnResponseHook((request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const response = reply.raw as ObservedResponse;
    (request.raw.socket as ServerSocket)[QUEUED_RESPONSES]?.delete(response);
    if (response[AWAITED_REPLY] !== null) {
      response[AWAITED_REPLY] = null;
      observeAnswer(reply, reply.statusCode);
    }
    done();
  });
  const observeIfCutOff = (response: ObservedResponse): void => {
    const reply = response[AWAITED_REPLY];
    if (!reply) return;
    response[AWAITED_REPLY] = null;
    // A pipelined answer still waiting has headers made but not a byte sent: it never had the socket.
    const sent = response.headersSent && response.socket !== null ? reply.statusCode : CLIENT_CLOSED_REQUEST;
    observeAnswer(reply, response[SOCKET_ANSWER]?.status ?? sent);
  };
  function observeWhatItCutOff(this: ServerSocket): void {
    if (this._httpMessage) observeIfCutOff(this._httpMessage);
    const queued = this[QUEUED_RESPONSES];
    if (queued !== undefined) for (const response of queued) observeIfCutOff(response);
  }
  adapter.getInstance().server.on('connection', (socket: ServerSocket) => socket.on('close', observeWhatItCutOff));
  observersByAdapter.set(adapter, (observers = created));
  return observers;
}

/**
 * Whether an answer ahead of a pipelined request on `socket` closes the connection: it was marked to
 * ({@link CLOSING}), or the answer being written will. Constant time, as a connection may carry
 * thousands of pipelined requests. A client's own `Connection: close` needs no check: Node's parser
 * refuses whatever follows it. An answer queued in between that decides to close only when its
 * headers are made (a route setting `Connection: close` itself) is not seen in time.
 */
function closesAhead(socket: ServerSocket): boolean {
  const current = socket._httpMessage;
  return socket[CLOSING] === true || (current != null && (current._last === true || !current.shouldKeepAlive));
}

/**
 * The responses on `socket` not finished yet, in the order Node sends them: the one being written (if
 * any), then the ones pipelined behind it. Only requests that reached the hooks are counted.
 */
export function unfinishedResponses(socket: Socket): ServerResponse[] {
  const { _httpMessage: current, [QUEUED_RESPONSES]: queued } = socket as ServerSocket;
  const responses: ServerResponse[] = current ? [current] : [];
  if (queued !== undefined) for (const response of queued) if (response !== current && !response.writableFinished) responses.push(response);
  return responses;
}

/**
 * Records that the request of `response` was answered by bytes written on its socket directly (a
 * request refused mid-body, {@link answerClientError}): when its connection closes, it is observed
 * with that answer's status rather than as cut off by its client.
 */
export function answeredOnSocket(response: ServerResponse, answer: SocketAnswer): void {
  (response as ObservedResponse)[SOCKET_ANSWER] = answer;
}

/** The answer written for the request of `response` on its socket directly, if one was ({@link answeredOnSocket}). */
export function socketAnswerOf(response: ServerResponse): SocketAnswer | undefined {
  return (response as ObservedResponse)[SOCKET_ANSWER];
}

/**
 * Closes `socket` once the answers owed on it have been sent, and no sooner: its last unfinished
 * answer says `Connection: close`, after which Node ends the connection; a request pipelined behind
 * that answer is refused without running its route. An answer whose headers are already made cannot
 * say so; the connection is then ended once that answer has finished, unless another answer is owed
 * by then (during a drain every new answer says `Connection: close` itself). A connection that owes
 * nothing is left as it is. Returns whether the connection is closing (now or already).
 */
export function closeAfterAnswers(socket: Socket): boolean {
  const connection = socket as ServerSocket;
  if (connection[CLOSING] || socket.destroyed) return true;
  const last = unfinishedResponses(socket).at(-1);
  if (last === undefined) return false;
  connection[CLOSING] = true;
  if (!last.headersSent) {
    last.shouldKeepAlive = false;
  } else {
    last.once('finish', () => {
      if (socket.destroyed || unfinishedResponses(socket).length > 0) return;
      // Both directions, as Node closes after `Connection: close`: with only its sending side ended the
      // socket would still read, and run, a request whose answer it could no longer send.
      socket.pause();
      socket.destroySoon();
    });
  }
  return true;
}

/**
 * Runs `observer` when a request arrives: first of the `onRequest` hooks, before the adapter's others
 * (CORS, its not-found and version checks) and a route's own (an early cache hit), so a header it
 * sets is on every answer those give.
 */
export function onRequestArrived(adapter: FastifyAdapter, observer: RequestObserver): void {
  observersOf(adapter).arrived.push(observer);
}

/**
 * Runs `observer` once for each request that reached the hooks: when its answer has been sent
 * (`onResponse`), whoever sent it, or when its connection closed before that.
 */
export function onRequestAnswered(adapter: FastifyAdapter, observer: AnswerObserver): void {
  observersOf(adapter).answered.push(observer);
}

/**
 * The app has no Nest middleware: what would be one is an observer above or a Fastify hook. So the
 * adapter is created with `skipMiddie` (no `@fastify/middie`, whose `onRequest` hook would run for
 * every request to find no middleware), and a module that configures middleware anyway stops the
 * app at boot with this error rather than failing on a missing `use`.
 */
export function refuseNestMiddleware(fastify: FastifyInstance): void {
  fastify.decorate('use', () => {
    throw new Error(
      'Nest middleware is not supported: the app runs without @fastify/middie (docs/architecture.md, "Per-request work"). ' +
        'Use onRequestArrived/onRequestAnswered from @app/http or a Fastify hook instead.',
    );
  });
}
