import { pipeline, Readable, Transform, type TransformCallback } from 'node:stream';
import { Injectable, Logger } from '@nestjs/common';
import type { FastifyInstance, FastifyRequest, onErrorAsyncHookHandler, preParsingAsyncHookHandler } from 'fastify';
import { socketAnswerOf } from '@app/http';
import { REQUEST_ID_MAX_LENGTH, REQUEST_ID_PATTERN } from '../../adapters/cursor-runner';
import { PendingRequestStore } from '../pending-requests/pending-request-store';
import { isCallbackRoute } from './callback-secret.guard';
import { SendResult } from './result-delivery';

/** The name of the callback route's own body limit (`CALLBACK_BODY_LIMIT_BYTES`). */
export const CALLBACK_BODY_LIMIT = 'cursor-runner-callback';

/**
 * How much of a callback's body is kept to find its request id when the body is refused.
 * cursor-runner writes `requestId` second, within the first hundred bytes.
 */
const HEAD_BYTES = 1024;

/** How long a body refused for its declared length may take to show its first bytes. */
const HEAD_WAIT_MS = 1_000;

/** A callback Fastify refused before the route saw it: over the limit, not JSON, a bad length. */
export interface RefusedCallback {
  /** From the query or the start of the body, when one could be read. */
  requestId: string | undefined;
  /** Fastify's reason, e.g. "Request body is too large". */
  reason: string;
  status: number;
  /** The `Content-Length` cursor-runner declared, when it did. */
  declaredBytes: number | undefined;
}

/**
 * What happens to a refused callback. cursor-runner sends each result once and never again, so a
 * refusal loses the result: it is logged at error level with the request id, to be found, and the
 * user who is waiting for it (a pending request with a chat, whose result is not being delivered)
 * is told, once. Only callbacks that carried the
 * secret get here: one without it is refused before its body is read (`installCallbackAuthentication`).
 */
@Injectable()
export class RefusedCallbacks {
  private readonly logger = new Logger('CursorRunnerCallback');
  private readonly notices = new Set<Promise<void>>();

  constructor(
    private readonly store: PendingRequestStore,
    private readonly results: SendResult,
  ) {}

  report(refusal: RefusedCallback): void {
    const id = refusal.requestId ?? 'unknown';
    this.logger.error(
      { requestId: refusal.requestId, status: refusal.status, declaredBytes: refusal.declaredBytes },
      `Refused a callback from cursor-runner for request ${id} (${refusal.status}: ${refusal.reason}); ` +
        'cursor-runner does not send a result again, so this result is lost',
    );
    if (refusal.requestId === undefined) return;
    const notice = this.tellUser(refusal.requestId, refusal).finally(() => this.notices.delete(notice));
    this.notices.add(notice);
  }

  /** Resolves once every notice under way has been sent or given up (tests, shutdown). */
  async settled(): Promise<void> {
    await Promise.all([...this.notices]);
  }

  /**
   * Tells the user once, and not while a result of the request is on its way (a callback accepted
   * before this refused duplicate is being delivered). The notice takes no claim and leaves the
   * pending request: a valid callback that arrives meanwhile or later is still delivered (a claim held
   * while the notice was sent made it a "duplicate", dropped). A mark makes the notice once.
   */
  private async tellUser(requestId: string, refusal: RefusedCallback): Promise<void> {
    try {
      if (await this.store.deliveryUnderWay(requestId)) return;
      const pending = await this.store.get(requestId);
      if (pending === null || !(await this.store.markRefusalNotice(requestId))) return;
      await this.results.notifyNotReceived(requestId, pending, reasonFor(refusal));
    } catch (error) {
      this.logger.warn(`Could not tell the user of request ${requestId} that its result was refused: ${(error as Error).message}`);
    }
  }
}

/** The refusal in the user's words. */
function reasonFor(refusal: RefusedCallback): string {
  if (refusal.status === 413) {
    return refusal.declaredBytes === undefined
      ? 'it was too large'
      : `it was too large (${(refusal.declaredBytes / 1024 / 1024).toFixed(1)} MiB)`;
  }
  if (refusal.status === 408) return 'it arrived too slowly';
  return 'it arrived unreadable';
}

/** Keeps the first {@link HEAD_BYTES} bytes of the stream it passes on. */
class HeadCapture extends Transform {
  private chunks: Buffer[] = [];
  private size = 0;

  get head(): Buffer {
    return Buffer.concat(this.chunks);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.size < HEAD_BYTES) {
      const kept = chunk.subarray(0, HEAD_BYTES - this.size);
      this.chunks.push(kept);
      this.size += kept.length;
    }
    callback(null, chunk);
  }
}

/** Reads at most {@link HEAD_BYTES} of a body the parser will refuse unread, waiting {@link HEAD_WAIT_MS} at most. */
function readHead(payload: Readable): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (): void => {
      clearTimeout(timer);
      payload.off('data', onData);
      payload.off('end', finish);
      payload.off('error', finish);
      payload.pause();
      resolve(Buffer.concat(chunks).subarray(0, HEAD_BYTES));
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= HEAD_BYTES) finish();
    };
    const timer = setTimeout(finish, HEAD_WAIT_MS);
    payload.on('data', onData);
    payload.once('end', finish);
    payload.once('error', finish);
  });
}

function validRequestId(value: unknown): string | undefined {
  return typeof value === 'string' && value.length <= REQUEST_ID_MAX_LENGTH && REQUEST_ID_PATTERN.test(value)
    ? value
    : undefined;
}

/** The request id of a callback whose body could not be parsed: from the query, else the body's first bytes. */
export function requestIdOfRefused(query: unknown, head: Buffer): string | undefined {
  const params = (typeof query === 'object' && query !== null ? query : {}) as Record<string, unknown>;
  const fromQuery = validRequestId(params.requestId) ?? validRequestId(params.request_id);
  if (fromQuery) return fromQuery;
  const match = /"(?:requestId|request_id)"\s*:\s*"([^"\\]{1,255})"/.exec(head.toString('utf8'));
  return validRequestId(match?.[1]);
}

/**
 * Reports every callback Fastify refuses before the route runs (body over the limit, not JSON, a
 * wrong length) to {@link RefusedCallbacks}, with the request id read from the query or the first
 * bytes of the body — read even from a body refused for its declared length, which is otherwise
 * never read. Everything else about the refusal (the 4xx answer) is Fastify's and the error filter's.
 */
export function installRefusedCallbackReports(fastify: FastifyInstance, reports: () => RefusedCallbacks): void {
  const heads = new WeakMap<FastifyRequest, () => Buffer>();

  const captureHead: preParsingAsyncHookHandler = async (request, _reply, payload) => {
    const declared = Number(request.headers['content-length']);
    if (declared > (request.routeOptions.bodyLimit ?? Infinity)) {
      const head = await readHead(payload);
      heads.set(request, () => head);
      return Readable.from([]);
    }
    const capture = new HeadCapture();
    heads.set(request, () => capture.head);
    // pipeline, not pipe: a body cut off mid-way must end the parser's read with an error.
    return pipeline(payload, capture, () => undefined);
  };

  const reportRefusal: onErrorAsyncHookHandler = async (request, reply, error) => {
    const declared = Number(request.headers['content-length']);
    // A body refused on its connection (late, or a malformed chunk) fails Fastify's read as "aborted":
    // the reason is what the answer on the socket said.
    const answered = socketAnswerOf(reply.raw);
    reports().report({
      requestId: requestIdOfRefused(request.query, heads.get(request)?.() ?? Buffer.alloc(0)),
      reason: answered === undefined ? error.message : answered.say.replace(/\.$/, ''),
      status: answered?.status ?? (error as { statusCode?: number }).statusCode ?? 500,
      declaredBytes: Number.isFinite(declared) ? declared : undefined,
    });
  };

  // Hooks of the callback route alone: every other request skips them at no cost.
  fastify.addHook('onRoute', (route) => {
    if (!isCallbackRoute(route)) return;
    route.preParsing = [...(route.preParsing === undefined ? [] : [route.preParsing].flat()), captureHead];
    route.onError = [...(route.onError === undefined ? [] : [route.onError].flat()), reportRefusal];
  });
}
