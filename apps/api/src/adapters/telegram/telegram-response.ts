import { STATUS_CODES } from 'node:http';
import {
  OutboundConnectionError,
  OutboundResponseTooLargeError,
  OutboundTimeoutError,
  type OutboundHttpError,
} from '@app/outbound-http';
import type { TelegramResponse } from './telegram-client';
import {
  redactToken,
  TelegramApiError,
  TelegramConnectionError,
  TelegramError,
  TelegramFileTooLargeError,
  TelegramHttpError,
  TelegramTimeoutError,
} from './telegram.errors';

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
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value) : undefined;
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

/**
 * The Telegram error for a transport failure (no complete, acceptable answer was received); `token`
 * is removed from the socket's message.
 */
export function classifyTransportError(method: string, error: OutboundHttpError, token: string): TelegramError {
  if (error instanceof OutboundTimeoutError) return new TelegramTimeoutError(method, error.timeoutMs);
  if (error instanceof OutboundResponseTooLargeError) return new TelegramFileTooLargeError(error.maxResponseBytes);
  const code = error instanceof OutboundConnectionError ? error.code : undefined;
  return new TelegramConnectionError(method, redactToken(error.message, token), code);
}
