import { bodyExcerpt, errorMessageOf } from './elevenlabs-error-text';

describe('errorMessageOf', () => {
  it.each([
    ['a string detail', 400, { detail: 'Audio file is corrupted' }, 'Audio file is corrupted'],
    [
      'a detail array (FastAPI validation), msg joined with "; "',
      422,
      {
        detail: [
          { loc: ['body', 'text'], msg: 'Field required', type: 'missing' },
          { loc: ['body', 'model_id'], msg: 'Input should be a valid string', type: 'string_type' },
        ],
      },
      'Field required; Input should be a valid string',
    ],
    [
      'a top-level array, msg joined with "; "',
      422,
      [{ msg: 'first problem' }, { msg: 'second problem' }],
      'first problem; second problem',
    ],
    ['strings inside an array', 422, ['too long', 'bad voice'], 'too long; bad voice'],
    [
      'ElevenLabs’ own detail object, by its message',
      401,
      { detail: { status: 'invalid_api_key', message: 'Invalid API key' } },
      'Invalid API key',
    ],
    ['an error field', 500, { error: 'Internal failure' }, 'Internal failure'],
    ['a message field', 429, { message: 'Too many concurrent requests' }, 'Too many concurrent requests'],
    ['detail before error and message', 400, { detail: 'd', error: 'e', message: 'm' }, 'd'],
    ['error before message', 400, { error: 'e', message: 'm' }, 'e'],
    ['a blank detail, falling through to error', 400, { detail: '  ', error: 'e' }, 'e'],
    [
      'a detail array without any msg, falling through to message',
      422,
      { detail: [{ loc: ['body'] }], message: 'm' },
      'm',
    ],
  ])('takes %s', (_case, status, body, expected) => {
    expect(errorMessageOf(status, JSON.stringify(body))).toBe(expected);
  });

  it.each([
    ['a body that is not JSON', 503, '<html>Service Unavailable</html>', 'HTTP 503: Service Unavailable'],
    ['an empty body', 502, '', 'HTTP 502: Bad Gateway'],
    ['a JSON object without any known field', 401, '{"status":"nope"}', 'HTTP 401: Unauthorized'],
    ['a JSON string', 400, '"just text"', 'HTTP 400: Bad Request'],
    ['an empty array', 422, '[]', 'HTTP 422: Unprocessable Entity'],
    ['an unknown status', 599, '', 'HTTP 599: Unknown Status'],
  ])('falls back to the status line for %s', (_case, status, body, expected) => {
    expect(errorMessageOf(status, body)).toBe(expected);
  });
});

describe('bodyExcerpt', () => {
  it('keeps a body of up to 500 characters as it is', () => {
    expect(bodyExcerpt('x'.repeat(500))).toBe('x'.repeat(500));
  });

  it('cuts a longer body to 500 characters and marks the cut', () => {
    expect(bodyExcerpt('y'.repeat(501))).toBe(`${'y'.repeat(500)}…`);
  });
});
