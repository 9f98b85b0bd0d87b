import { readCallbackParams } from './callback-params';

describe('readCallbackParams', () => {
  it('keeps only the permitted parameters, in both spellings, body over query', () => {
    expect(
      readCallbackParams(
        { secret: 's3cret', request_id: 'from-query', repository: 'query-repo' },
        { requestId: 'telegram-1-abc', success: true, output: 'o', exit_code: 2, command: ['x'], chat_id: 9 },
      ),
    ).toEqual({
      requestId: 'telegram-1-abc',
      fields: { request_id: 'from-query', repository: 'query-repo', requestId: 'telegram-1-abc', success: true, output: 'o', exit_code: 2 },
    });
  });

  it('falls back to request_id when requestId is blank, and reads a numeric id as text', () => {
    expect(readCallbackParams({}, { requestId: '  ', request_id: 'r-1' }).requestId).toBe('r-1');
    expect(readCallbackParams({}, { request_id: 42 }).requestId).toBe('42');
  });

  it.each([[{}], [{ requestId: '' }], [{ request_id: null }], [{ requestId: { a: 1 } }]])(
    'finds no request id in %j',
    (body) => {
      expect(readCallbackParams({}, body).requestId).toBeUndefined();
    },
  );

  it('reads no parameters from a body that is not an object', () => {
    expect(readCallbackParams(undefined, ['requestId'])).toEqual({ requestId: undefined, fields: {} });
    expect(readCallbackParams(undefined, 'requestId=x')).toEqual({ requestId: undefined, fields: {} });
  });
});
