import { Blob } from 'node:buffer';
import { FormData, multipartBodyOf } from './multipart';

describe('multipartBodyOf', () => {
  function voiceForm(fileName = 'reply.ogg', bytes = Buffer.from([0, 255, 13, 10, 45, 45, 1])): FormData {
    const form = new FormData();
    form.append('chat_id', '42');
    form.append('caption', 'héllo');
    form.append('voice', new Blob([bytes], { type: 'audio/ogg' }), fileName);
    return form;
  }

  it('writes each field and the file between boundaries, the bytes untouched', async () => {
    const bytes = Buffer.from([0, 255, 13, 10, 45, 45, 1]);
    const { contentType, body } = await multipartBodyOf(voiceForm('reply.ogg', bytes));
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

  it('percent-encodes quotes and line breaks in a file name so it cannot end the header', async () => {
    const { body } = await multipartBodyOf(voiceForm('a"b\r\nX-Evil: 1.ogg'));
    expect(body.toString('latin1')).toContain('filename="a%22b%0D%0AX-Evil: 1.ogg"\r\n');
  });

  it('uses a new boundary every time', async () => {
    const [first, second] = await Promise.all([multipartBodyOf(voiceForm()), multipartBodyOf(voiceForm())]);
    expect(first.contentType).not.toBe(second.contentType);
  });
});
