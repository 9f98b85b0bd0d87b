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

  it("takes terminal sequences and control characters but tab and line ends out of the agent's texts only", () => {
    const { fields } = readCallbackParams(
      {},
      { requestId: 'r-1', output: 'a\u0000b\u0001\tc\r\n\u001b[32mgreen\u001b[0m\u0007', error: '\u0000warn\b', duration: '\u0001' },
    );
    expect(fields).toEqual({ requestId: 'r-1', output: 'ab\tc\r\ngreen', error: 'warn', duration: '\u0001' });
  });

  it.each([
    ['an OSC 8 hyperlink', '\u001b]8;;https://example.com\u001b\\link\u001b]8;;\u001b\\', 'link'],
    ['a window title ended by BEL', '\u001b]0;title\u0007text', 'text'],
    ['colon-form truecolour', '\u001b[38:2:255:0:0mred\u001b[0m', 'red'],
    ['a private control sequence', '\u001b[>4;2mkeys', 'keys'],
    ['a character-set designation', '\u001b(Bplain', 'plain'],
    ['DEL and C1 control characters', 'a\u007fb\u0085c\u0099d', 'abcd'],
    ['emoji, right-to-left text and accents, untouched', '🙂 שלום é', '🙂 שלום é'],
    ['a string never ended, whose text after it stays', 'a\u001b]0;title, then the rest of the output', 'a0;title, then the rest of the output'],
    ['8-bit control sequences and strings', '\u009b31mRED\u009b0m \u009d8;;https://x.example\u009clink\u009d8;;\u009c', 'RED link'],
  ])('leaves nothing of %s but its text', (_what, output, shown) => {
    expect(readCallbackParams({}, { requestId: 'r-1', output }).fields.output).toBe(shown);
  });

  it('reads no parameters from a body that is not an object', () => {
    expect(readCallbackParams(undefined, ['requestId'])).toEqual({ requestId: undefined, fields: {} });
    expect(readCallbackParams(undefined, 'requestId=x')).toEqual({ requestId: undefined, fields: {} });
  });
});
