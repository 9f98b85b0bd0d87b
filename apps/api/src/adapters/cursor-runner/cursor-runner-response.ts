import { STATUS_CODES } from 'node:http';
import { OutboundTimeoutError, type OutboundHttpError } from '@app/outbound-http';
import {
  CursorRunnerConnectionError,
  CursorRunnerHttpError,
  CursorRunnerInvalidResponseError,
  CursorRunnerTimeoutError,
  type CursorRunnerCall,
  type CursorRunnerError,
} from './cursor-runner.errors';
import type { CursorRunnerReply } from './cursor-runner.client';

/** cursor-runner answers a failed run with 422 and the same JSON shape as a success (docs/cursor-runner.md, "Answers and errors"). */
const UNPROCESSABLE = 422;

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
}

function describeJsonType(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

/**
 * Turns a complete HTTP answer into cursor-runner's JSON or the error its callers expect:
 * 2xx and 422 must carry a JSON object (returned as is); any other status is a
 * {@link CursorRunnerHttpError} carrying the body's `error` message when there is one.
 */
export function interpretResponse(call: CursorRunnerCall, status: number, text: string): CursorRunnerReply {
  const parsed = parseJson(text);
  if ((status >= 200 && status < 300) || status === UNPROCESSABLE) {
    if (!parsed.ok) throw new CursorRunnerInvalidResponseError(call, status, parsed.reason, text);
    const { value } = parsed;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new CursorRunnerInvalidResponseError(
        call,
        status,
        `expected a JSON object, got ${describeJsonType(value)}`,
        text,
      );
    }
    return value as CursorRunnerReply;
  }
  const body = parsed.ok ? parsed.value : text;
  const upstreamError =
    typeof body === 'object' && body !== null && typeof (body as { error?: unknown }).error === 'string'
      ? (body as { error: string }).error.trim()
      : '';
  const message = upstreamError || `HTTP ${status}: ${STATUS_CODES[status] ?? 'Unknown Status'}`;
  throw new CursorRunnerHttpError(call, status, message, body);
}

/**
 * The error for a transport failure (no complete answer was received): a timeout keeps its
 * deadline and detail, anything else is a connection error with the system error code.
 */
export function classifyTransportError(call: CursorRunnerCall, error: OutboundHttpError): CursorRunnerError {
  if (error instanceof OutboundTimeoutError) return new CursorRunnerTimeoutError(call, error.timeoutMs, error.message);
  return new CursorRunnerConnectionError(call, error);
}
