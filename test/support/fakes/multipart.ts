import type { RecordedRequest } from './fake-http-server';

/** The file part of a multipart upload as received. */
export interface ReceivedFile {
  filename: string;
  contentType: string;
  content: Buffer;
}

/** A multipart body as received: text fields by name, file parts by name. */
export interface ReceivedMultipart {
  fields: Record<string, string>;
  files: Record<string, ReceivedFile>;
}

/** Parses the `multipart/form-data` body of a recorded request (RFC 7578), or throws saying why not. */
export function multipartOf(request: RecordedRequest): ReceivedMultipart {
  const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/.exec(String(request.headers['content-type']));
  if (!boundary) throw new Error(`not a multipart request: ${String(request.headers['content-type'])}`);
  const delimiter = Buffer.from(`--${boundary[1] ?? boundary[2]}`);
  const received: ReceivedMultipart = { fields: {}, files: {} };
  let start = request.rawBody.indexOf(delimiter);
  while (start !== -1) {
    const partStart = start + delimiter.length;
    if (request.rawBody.subarray(partStart, partStart + 2).toString() === '--') break;
    const end = request.rawBody.indexOf(delimiter, partStart);
    if (end === -1) throw new Error('multipart body has no closing delimiter');
    // Each part is CRLF, headers, CRLF CRLF, content, CRLF before the next delimiter.
    const part = request.rawBody.subarray(partStart + 2, end - 2);
    const headerEnd = part.indexOf('\r\n\r\n');
    const headers = part.subarray(0, headerEnd).toString('utf8');
    const content = part.subarray(headerEnd + 4);
    const name = /name="([^"]*)"/.exec(headers)?.[1] ?? '';
    const filename = /filename="([^"]*)"/.exec(headers)?.[1];
    if (filename === undefined) {
      received.fields[name] = content.toString('utf8');
    } else {
      const contentType = /content-type:\s*([^\r\n]+)/i.exec(headers)?.[1] ?? '';
      received.files[name] = { filename, contentType, content: Buffer.from(content) };
    }
    start = end;
  }
  return received;
}
