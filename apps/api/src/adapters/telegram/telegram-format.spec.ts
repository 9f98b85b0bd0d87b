import { encodeMultipart, escapeHtml, voiceMimeType } from './telegram-format';

describe('escapeHtml', () => {
  it('escapes &, < and > so text that looks like markup is shown as written', () => {
    expect(escapeHtml('tcpsocket:(closed) <pre>a && b</pre> x > y')).toBe(
      'tcpsocket:(closed) &lt;pre&gt;a &amp;&amp; b&lt;/pre&gt; x &gt; y',
    );
  });

  it('escapes & first, so an existing entity is shown literally rather than kept', () => {
    expect(escapeHtml('&lt;b&gt; &amp;')).toBe('&amp;lt;b&amp;gt; &amp;amp;');
  });

  it('leaves quotes and everything else alone', () => {
    expect(escapeHtml(`"it's" ✅ \n`)).toBe(`"it's" ✅ \n`);
  });
});

describe('voiceMimeType', () => {
  it.each([
    ['reply.ogg', 'audio/ogg'],
    ['reply.OGA', 'audio/ogg'],
    ['/tmp/a.b/reply.wav', 'audio/wav'],
    ['reply.mp3', 'audio/mpeg'],
    ['reply', 'audio/mpeg'],
    ['reply.ogg.txt', 'audio/mpeg'],
  ])('%s → %s', (name, type) => {
    expect(voiceMimeType(name)).toBe(type);
  });
});

describe('encodeMultipart', () => {
  it('writes each field and the file between boundaries, the bytes untouched', () => {
    const bytes = Buffer.from([0, 255, 13, 10, 45, 45, 1]);
    const { contentType, body } = encodeMultipart(
      { chat_id: '42', caption: 'héllo' },
      { field: 'voice', fileName: 'reply.ogg', contentType: 'audio/ogg', bytes },
    );
    const boundary = /^multipart\/form-data; boundary=(.+)$/.exec(contentType)![1];
    const expected = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="chat_id"\r\n\r\n42\r\n` +
          `--${boundary}\r\nContent-Disposition: form-data; name="caption"\r\n\r\nhéllo\r\n` +
          `--${boundary}\r\nContent-Disposition: form-data; name="voice"; filename="reply.ogg"\r\nContent-Type: audio/ogg\r\n\r\n`,
      ),
      bytes,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    expect(body.equals(expected)).toBe(true);
  });

  it('percent-encodes quotes and line breaks in a file name so it cannot end the header', () => {
    const { body } = encodeMultipart({}, { field: 'voice', fileName: 'a"\r\nb.mp3', contentType: 'audio/mpeg', bytes: Buffer.alloc(0) });
    expect(body.toString('utf8')).toContain('filename="a%22%0D%0Ab.mp3"');
  });

  it('uses a new boundary every time', () => {
    const file = { field: 'voice', fileName: 'v.mp3', contentType: 'audio/mpeg', bytes: Buffer.alloc(1) };
    expect(encodeMultipart({}, file).contentType).not.toBe(encodeMultipart({}, file).contentType);
  });
});
