import { OutboundConnectionError, OutboundResponseTooLargeError, OutboundTimeoutError } from '@app/outbound-http';
import { systemError, thrownBy } from '../../../../../test/support/errors';
import {
  redactToken,
  TelegramApiError,
  TelegramConnectionError,
  TelegramFileTooLargeError,
  TelegramHttpError,
  TelegramTimeoutError,
} from './telegram.errors';
import { classifyTransportError, interpretBotApiAnswer } from './telegram-response';

const TOKEN = '123456:ABC-def_ghi';

describe('interpretBotApiAnswer', () => {
  it('returns the whole ok:true envelope', () => {
    const answer = { ok: true, result: true, description: 'Webhook was set' };
    expect(interpretBotApiAnswer('setWebhook', 200, JSON.stringify(answer), TOKEN)).toEqual(answer);
  });

  it('turns ok:false into an API error with Telegram’s description and status', () => {
    const error = thrownBy(() =>
      interpretBotApiAnswer('sendMessage', 400, '{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}', TOKEN),
    ) as TelegramApiError;
    expect(error).toBeInstanceOf(TelegramApiError);
    expect(error).toMatchObject({
      name: 'TelegramApiError',
      message: 'Telegram API error: Bad Request: chat not found',
      description: 'Bad Request: chat not found',
      status: 400,
      method: 'sendMessage',
      retryAfterSeconds: undefined,
    });
  });

  it('keeps retry_after of a 429', () => {
    const error = thrownBy(() =>
      interpretBotApiAnswer(
        'sendMessage',
        429,
        '{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}',
        TOKEN,
      ),
    ) as TelegramApiError;
    expect(error.retryAfterSeconds).toBe(7);
  });

  it.each([
    ['0', 1],
    ['-5', 1],
    ['0.2', 1],
    ['1e999', undefined],
    ['"7"', undefined],
  ])('reads retry_after %s as a wait of %s s: never shorter than a second, so waiting out 429s ends', (retryAfter, seconds) => {
    const error = thrownBy(() =>
      interpretBotApiAnswer('sendMessage', 429, `{"ok":false,"error_code":429,"description":"Too Many Requests","parameters":{"retry_after":${retryAfter}}}`, TOKEN),
    ) as TelegramApiError;
    expect(error.retryAfterSeconds).toBe(seconds);
  });

  it('names the status when ok:false has no description', () => {
    const error = thrownBy(() => interpretBotApiAnswer('getFile', 502, '{"ok":false}', TOKEN)) as TelegramApiError;
    expect(error.message).toBe('Telegram API error: HTTP 502: Bad Gateway');
  });

  it('removes the token from a description that quotes it', () => {
    const error = thrownBy(() =>
      interpretBotApiAnswer('getMe', 404, `{"ok":false,"description":"Not Found: /bot${TOKEN}/getMe"}`, TOKEN),
    ) as TelegramApiError;
    expect(error.message).toBe('Telegram API error: Not Found: /bot<token>/getMe');
  });

  it.each([
    [502, '<html>Bad gateway</html>', 'Telegram sendMessage failed: HTTP 502 Bad Gateway'],
    [200, 'not json', 'Telegram sendMessage failed: an answer that is not a Bot API answer'],
    [200, '{"ok":true}', 'Telegram sendMessage failed: an answer that is not a Bot API answer'],
    [200, '[1]', 'Telegram sendMessage failed: an answer that is not a Bot API answer'],
  ])('reports HTTP %i with body %p as an HTTP error', (status, body, message) => {
    const error = thrownBy(() => interpretBotApiAnswer('sendMessage', status, body, TOKEN)) as TelegramHttpError;
    expect(error).toBeInstanceOf(TelegramHttpError);
    expect(error.message).toBe(message);
    expect(error.status).toBe(status);
  });
});

describe('classifyTransportError', () => {
  it.each(['ECONNREFUSED', 'ENOTFOUND', 'ECONNRESET', 'EAI_AGAIN'])('reports %s as a connection error', (code) => {
    const cause = new OutboundConnectionError(systemError(`connect ${code} 1.2.3.4:443`, code));
    const error = classifyTransportError('getWebhookInfo', cause, TOKEN);
    expect(error).toBeInstanceOf(TelegramConnectionError);
    expect(error.message).toBe(`Failed to connect to Telegram: connect ${code} 1.2.3.4:443`);
    expect((error as TelegramConnectionError).code).toBe(code);
  });

  it('reports a timeout as a timeout', () => {
    const error = classifyTransportError('setWebhook', new OutboundTimeoutError(30_000, 'connect ETIMEDOUT'), TOKEN);
    expect(error).toBeInstanceOf(TelegramTimeoutError);
    expect(error.message).toBe('Request to Telegram timed out: no answer within 30000 ms (setWebhook)');
  });

  it('reports an answer over the cap as a file too large', () => {
    const error = classifyTransportError('download', new OutboundResponseTooLargeError(20, 200), TOKEN);
    expect(error).toBeInstanceOf(TelegramFileTooLargeError);
    expect(error.message).toBe('Failed to download file: larger than 20 bytes');
  });

  it('redacts the token from the socket’s message', () => {
    const cause = new OutboundConnectionError(systemError(`bad path /bot${TOKEN}/getFile`));
    const error = classifyTransportError('getFile', cause, TOKEN);
    expect(error.message).toBe('Failed to connect to Telegram: bad path /bot<token>/getFile');
  });
});

describe('redactToken', () => {
  it('removes the token and anything shaped like a Bot API token path', () => {
    expect(redactToken(`a ${TOKEN} b /bot98765:XYZ_abc-1/sendMessage`, TOKEN)).toBe('a <token> b /bot<token>/sendMessage');
  });

  it('leaves text without tokens alone, also with an empty token', () => {
    expect(redactToken('nothing here', '')).toBe('nothing here');
  });
});
