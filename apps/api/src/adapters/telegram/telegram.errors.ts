/**
 * Any failure of a Telegram call. Messages never contain the bot token: URLs are not quoted and
 * anything Telegram or the socket said passes through {@link redactToken} first.
 */
export abstract class TelegramError extends Error {
  /** The Bot API method (`sendMessage`) or `download` for a file download. */
  readonly method: string;

  protected constructor(message: string, method: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.method = method;
  }
}

/** Telegram answered `ok: false` (`Bad Request: chat not found`, `Unauthorized`, `Too Many Requests: …`). */
export class TelegramApiError extends TelegramError {
  /** HTTP status of the answer (Telegram's `error_code` is the same number). */
  readonly status: number;
  /** Telegram's `description`. */
  readonly description: string;
  /** `parameters.retry_after` of a 429, in seconds. */
  readonly retryAfterSeconds: number | undefined;
  /** `parameters.migrate_to_chat_id`: the group was upgraded to this supergroup, where sends now go. */
  readonly migrateToChatId: number | undefined;

  constructor(method: string, status: number, description: string, retryAfterSeconds?: number, migrateToChatId?: number) {
    super(`Telegram API error: ${description}`, method);
    this.status = status;
    this.description = description;
    this.retryAfterSeconds = retryAfterSeconds;
    this.migrateToChatId = migrateToChatId;
  }
}

/** An answer that is not a Bot API answer: a non-JSON body (a proxy's 502 page), or a failed download. */
export class TelegramHttpError extends TelegramError {
  readonly status: number;

  constructor(method: string, status: number, message: string) {
    super(message, method);
    this.status = status;
  }
}

/** Telegram could not be reached, or the connection broke before a full answer (refused, DNS, reset). */
export class TelegramConnectionError extends TelegramError {
  /** The system error code (`ECONNREFUSED`, `ENOTFOUND`, `ECONNRESET`, …) when there is one. */
  readonly code: string | undefined;

  constructor(method: string, detail: string, code: string | undefined) {
    super(`Failed to connect to Telegram: ${detail}`, method);
    this.code = code;
  }
}

/** No complete answer within `TELEGRAM_TIMEOUT_MS`. */
export class TelegramTimeoutError extends TelegramError {
  /** The deadline that passed, in milliseconds. */
  readonly timeoutMs: number;

  constructor(method: string, timeoutMs: number) {
    super(`Request to Telegram timed out: no answer within ${timeoutMs} ms (${method})`, method);
    this.timeoutMs = timeoutMs;
  }
}

/** A download larger than the bound (Telegram lets bots download at most 20 MB). */
export class TelegramFileTooLargeError extends TelegramError {
  constructor(limitBytes: number) {
    super(`Failed to download file: larger than ${limitBytes} bytes`, 'download');
  }
}

/** `sendVoice` was given a path that does not exist: "Voice file does not exist". */
export class TelegramVoiceFileMissingError extends TelegramError {
  constructor() {
    super('Voice file does not exist', 'sendVoice');
  }
}

/**
 * Removes a bot token from text: the token itself and anything shaped like `bot<id>:<secret>`
 * (a Bot API URL path), so an error message quoting a URL cannot leak a token either.
 */
export function redactToken(text: string, token: string): string {
  const withoutToken = token ? text.split(token).join('<token>') : text;
  return withoutToken.replace(/bot\d+:[A-Za-z0-9_-]+/g, 'bot<token>');
}
