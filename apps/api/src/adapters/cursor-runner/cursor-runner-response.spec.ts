import { OutboundConnectionError, OutboundTimeoutError } from '@app/outbound-http';
import { systemError, thrownBy } from '../../../../../test/support/errors';
import {
  CursorRunnerConnectionError,
  CursorRunnerHttpError,
  CursorRunnerInvalidResponseError,
  CursorRunnerTimeoutError,
} from './cursor-runner.errors';
import { classifyTransportError, interpretResponse } from './cursor-runner-response';

const call = { method: 'POST', path: '/cursor/execute' };

describe('interpretResponse', () => {
  it('returns the JSON object of a 2xx answer as it is', () => {
    const body = { success: true, requestId: 'req-1', output: 'done', exitCode: 0 };
    expect(interpretResponse(call, 200, JSON.stringify(body))).toEqual(body);
    expect(interpretResponse(call, 202, '{"success":true}')).toEqual({ success: true });
  });

  it('returns the JSON of a 422 answer instead of throwing (a failed run, not a failed call)', () => {
    expect(interpretResponse(call, 422, '{"success":false,"error":"exit 1"}')).toEqual({
      success: false,
      error: 'exit 1',
    });
  });

  it('rejects a 2xx body that is not JSON, keeping the status and an excerpt', () => {
    const error = thrownBy(() => interpretResponse(call, 200, '<html>' + 'x'.repeat(1000)));
    expect(error).toBeInstanceOf(CursorRunnerInvalidResponseError);
    const invalid = error as CursorRunnerInvalidResponseError;
    expect(invalid.message).toMatch(/^Failed to parse response: Unexpected token/);
    expect(invalid.status).toBe(200);
    expect(invalid.bodyExcerpt).toHaveLength(500);
    expect(invalid.method).toBe('POST');
    expect(invalid.path).toBe('/cursor/execute');
  });

  it.each([
    ['[1,2]', 'an array'],
    ['"ok"', 'a string'],
    ['null', 'null'],
    ['', undefined],
  ])('rejects the 2xx body %p, which is not a JSON object', (text, described) => {
    const error = thrownBy(() => interpretResponse(call, 200, text)) as CursorRunnerInvalidResponseError;
    expect(error).toBeInstanceOf(CursorRunnerInvalidResponseError);
    if (described) expect(error.message).toBe(`Failed to parse response: expected a JSON object, got ${described}`);
  });

  it('raises an HTTP error carrying the body’s error message for other statuses', () => {
    const error = thrownBy(() =>
      interpretResponse(call, 404, '{"success":false,"error":"Route not found","path":"/git/repositories"}'),
    ) as CursorRunnerHttpError;
    expect(error).toBeInstanceOf(CursorRunnerHttpError);
    expect(error.message).toBe('Route not found');
    expect(error.status).toBe(404);
    expect(error.body).toEqual({ success: false, error: 'Route not found', path: '/git/repositories' });
  });

  it('names the status when the body has no error message', () => {
    const html = thrownBy(() => interpretResponse(call, 503, '<h1>down</h1>')) as CursorRunnerHttpError;
    expect(html.message).toBe('HTTP 503: Service Unavailable');
    expect(html.body).toBe('<h1>down</h1>');
    const blank = thrownBy(() => interpretResponse(call, 500, '{"error":"  "}')) as CursorRunnerHttpError;
    expect(blank.message).toBe('HTTP 500: Internal Server Error');
    expect((thrownBy(() => interpretResponse(call, 599, '')) as Error).message).toBe('HTTP 599: Unknown Status');
  });

  it('treats 401 as an HTTP error with cursor-runner’s message', () => {
    const error = thrownBy(() =>
      interpretResponse(call, 401, '{"success":false,"error":"Unauthorized - invalid or missing webhook secret"}'),
    ) as CursorRunnerHttpError;
    expect(error.message).toBe('Unauthorized - invalid or missing webhook secret');
    expect(error.status).toBe(401);
  });
});

describe('classifyTransportError', () => {
  it.each(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EHOSTUNREACH', 'EPIPE'])(
    'reports %s as a connection error with its code',
    (code) => {
      const cause = new OutboundConnectionError(systemError(`connect ${code} 10.0.0.1:3001`, code));
      const error = classifyTransportError(call, cause);
      expect(error).toBeInstanceOf(CursorRunnerConnectionError);
      expect(error.message).toBe(`Failed to connect to cursor-runner: connect ${code} 10.0.0.1:3001`);
      expect((error as CursorRunnerConnectionError).code).toBe(code);
    },
  );

  it('reports a timeout with its deadline and detail', () => {
    const error = classifyTransportError(call, new OutboundTimeoutError(5_000, 'connect ETIMEDOUT 10.0.0.1:3001'));
    expect(error).toBeInstanceOf(CursorRunnerTimeoutError);
    expect(error.message).toBe('Request to cursor-runner timed out: connect ETIMEDOUT 10.0.0.1:3001');
    expect((error as CursorRunnerTimeoutError).timeoutMs).toBe(5_000);
  });

  it('reports an error without a code as a connection error', () => {
    const error = classifyTransportError(call, new OutboundConnectionError(systemError('socket hang up')));
    expect(error).toBeInstanceOf(CursorRunnerConnectionError);
    expect((error as CursorRunnerConnectionError).code).toBeUndefined();
  });

  it('keeps the cause and the error name', () => {
    const cause = new OutboundConnectionError(systemError('boom', 'ECONNRESET'));
    const error = classifyTransportError(call, cause);
    expect(error.cause).toBe(cause);
    expect(error.name).toBe('CursorRunnerConnectionError');
  });
});
