import { STATUS_CODES } from 'node:http';
import type { TelegramResponse } from './telegram-client';
import {
  redactToken,
  TelegramApiError,
  TelegramConnectionError,
  TelegramError,
  TelegramHttpError,
  TelegramTimeoutError,
} from './telegram.errors';

/** System error codes that mean the deadline passed below us (a connect timeout of the OS). */
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT']);

interface BotApiAnswer {
  ok?: unknown;
  result?: unknown;
  description?: unknown;
  error_code?: unknown;
  parameters?: { retry_after?: unknown };
}

function parseObject(text: string): BotApiAnswer | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as BotApiAnswer) : undefined;
  } catch {
    return undefined;
  }
}

function reason(status: number): string {
  return STATUS_CODES[status] ?? 'Unknown Status';
}

/**
 * Turns a complete Bot API answer into its success envelope or the error it means: a JSON
 * `ok: true` is returned as is (whatever the status); a JSON `ok: false` is a
 * {@link TelegramApiError} with Telegram's description; anything else is a {@link TelegramHttpError}.
 * `token` is removed from every message.
 */
export function interpretBotApiAnswer<T>(method: string, status: number, text: string, token: string): TelegramResponse<T> {
  const answer = parseObject(text);
  if (answer?.ok === true && 'result' in answer) return answer as TelegramResponse<T>;
  if (answer && answer.ok === false) {
    const description =
      typeof answer.description === 'string' && answer.description.trim() !== ''
        ? redactToken(answer.description.trim(), token)
        : `HTTP ${status}: ${reason(status)}`;
    const retryAfter = answer.parameters?.retry_after;
    return throwing(
      new TelegramApiError(method, status, description, typeof retryAfter === 'number' ? retryAfter : undefined),
    );
  }
  const what = status >= 200 && status < 300 ? 'an answer that is not a Bot API answer' : `HTTP ${status} ${reason(status)}`;
  return throwing(new TelegramHttpError(method, status, `Telegram ${method} failed: ${what}`));
}

function throwing(error: TelegramError): never {
  throw error;
}

/** Classifies an error of the socket or the request (no complete answer was received). */
export function classifyTransportError(
  method: string,
  error: Error & { code?: string },
  timeoutMs: number,
  token: string,
): TelegramError {
  if (error instanceof TelegramError) return error;
  if (error.code && TIMEOUT_CODES.has(error.code)) return new TelegramTimeoutError(method, timeoutMs);
  return new TelegramConnectionError(method, redactToken(error.message, token), error.code);
}
