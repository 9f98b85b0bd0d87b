import { encodeMultipart } from './multipart';

describe('encodeMultipart', () => {
  const file = { name: 'file', filename: 'voice.oga', contentType: 'audio/ogg', content: Buffer.from([0, 255, 13, 10, 1]) };

  it('writes the fields in order, then the file with its name and type, bytes unchanged', () => {
    const { contentType, body } = encodeMultipart({ model_id: 'scribe_v1', language_code: 'en' }, file);
    const boundary = /^multipart\/form-data; boundary=(----jarek-va-[0-9a-f]{24})$/.exec(contentType)?.[1];
    expect(boundary).toBeDefined();
    expect(body).toEqual(
      Buffer.concat([
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="model_id"\r\n\r\nscribe_v1\r\n` +
            `--${boundary}\r\nContent-Disposition: form-data; name="language_code"\r\n\r\nen\r\n` +
            `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="voice.oga"\r\n` +
            'Content-Type: audio/ogg\r\n\r\n',
        ),
        file.content,
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]),
    );
  });

  it('leaves out undefined fields', () => {
    const { body } = encodeMultipart({ model_id: 'm', language_code: undefined }, file);
    expect(body.toString('latin1')).not.toContain('language_code');
  });

  it('percent-encodes quotes and line breaks in a file name, so it cannot add a header', () => {
    const { body } = encodeMultipart({}, { ...file, filename: 'a"b\r\nX-Evil: 1.ogg' });
    expect(body.toString('latin1')).toContain('filename="a%22b%0D%0AX-Evil: 1.ogg"\r\n');
  });

  it('uses a new boundary each time', () => {
    expect(encodeMultipart({}, file).contentType).not.toBe(encodeMultipart({}, file).contentType);
  });
});
