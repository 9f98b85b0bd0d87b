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
  parameters?: { retry_after?: unknown; migrate_to_chat_id?: unknown };
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

/** The shortest wait a 429 is taken to ask for, in seconds. */
const MIN_RETRY_AFTER_SECONDS = 1;

/**
 * A 429's `retry_after` in seconds, at least {@link MIN_RETRY_AFTER_SECONDS}: Telegram sends a
 * positive integer, and a zero or negative one taken as it is made the delivery try again at once,
 * for ever, as waits of no length never used up the time a delivery may spend waiting out 429s.
 * A value that is not a finite number is no `retry_after`.
 */
function retryAfterSeconds(value: unknown): number | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
  return Math.max(MIN_RETRY_AFTER_SECONDS, value);
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
    const migrateTo = answer.parameters?.migrate_to_chat_id;
    return throwing(
      new TelegramApiError(method, status, description, retryAfterSeconds(answer.parameters?.retry_after), Number.isSafeInteger(migrateTo) ? (migrateTo as number) : undefined),
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
