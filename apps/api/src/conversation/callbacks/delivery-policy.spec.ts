import { TelegramApiError, TelegramConnectionError, TelegramHttpError, TelegramTimeoutError } from '../../adapters/telegram';
import { isParseError } from '../chat-replies';
import { BotUnavailableError, isTransient, retryDelayMs, throttledForMs } from './delivery-policy';

describe('delivery policy', () => {
  it('recognises Telegram refusing the HTML, and nothing else, as a parse error', () => {
    expect(isParseError(new TelegramApiError('sendMessage', 400, "Bad Request: can't parse entities: Unexpected end tag at byte offset 3"))).toBe(true);
    expect(isParseError(new TelegramApiError('sendMessage', 400, 'Bad Request: message is too long'))).toBe(false);
    expect(isParseError(new Error("can't parse entities"))).toBe(false);
  });

  it.each([
    ['a refused connection', new TelegramConnectionError('sendMessage', 'connect ECONNREFUSED', 'ECONNREFUSED'), true],
    ['a timeout', new TelegramTimeoutError('sendMessage', 100), true],
    ['a 5xx answer', new TelegramApiError('sendMessage', 502, 'Bad Gateway'), true],
    ['a proxy error page', new TelegramHttpError('sendMessage', 503, 'Service Unavailable'), true],
    ['rate limiting', new TelegramApiError('sendMessage', 429, 'Too Many Requests: retry after 3', 3), true],
    ['a database error', new Error('SQLITE_BUSY'), true],
    ['a blocked bot', new TelegramApiError('sendMessage', 403, 'Forbidden: bot was blocked by the user'), false],
    ['an unknown chat', new TelegramApiError('sendMessage', 400, 'Bad Request: chat not found'), false],
    ['a deactivated bot', new BotUnavailableError(4), false],
  ])('treats %s as transient: %s', (_, error, transient) => {
    expect(isTransient(error)).toBe(transient);
  });

  it('doubles the base delay per try, and follows retry_after of a 429', () => {
    const down = new TelegramConnectionError('sendMessage', 'reset', 'ECONNRESET');
    expect([1, 2, 3].map((attempt) => retryDelayMs(down, attempt, 500))).toEqual([500, 1000, 2000]);
    expect(retryDelayMs(new TelegramApiError('sendMessage', 429, 'Too Many Requests', 7), 1, 500)).toBe(7000);
  });

  it('does not retry a refusal, nor a 429 asking to wait more than a minute', () => {
    expect(retryDelayMs(new TelegramApiError('sendMessage', 403, 'Forbidden'), 1, 500)).toBeNull();
    expect(retryDelayMs(new TelegramApiError('sendMessage', 429, 'Too Many Requests', 61), 1, 500)).toBeNull();
  });

  it("reads a 429's retry_after as the wait Telegram asks for, and nothing else as one", () => {
    expect(throttledForMs(new TelegramApiError('sendMessage', 429, 'Too Many Requests', 3))).toBe(3000);
    expect(throttledForMs(new TelegramApiError('sendMessage', 429, 'Too Many Requests'))).toBeUndefined();
    expect(throttledForMs(new TelegramApiError('sendMessage', 502, 'Bad Gateway', 3))).toBeUndefined();
    expect(throttledForMs(new TelegramConnectionError('sendMessage', 'reset', 'ECONNRESET'))).toBeUndefined();
  });
});
