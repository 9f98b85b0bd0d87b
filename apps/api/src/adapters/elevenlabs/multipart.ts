import { randomBytes } from 'node:crypto';

/** A `multipart/form-data` body ready to send. */
export interface MultipartBody {
  /** The `Content-Type` header value, boundary included. */
  contentType: string;
  body: Buffer;
}

export interface MultipartFile {
  name: string;
  filename: string;
  contentType: string;
  content: Buffer;
}

/**
 * A header parameter value in double quotes, as browsers send it (WHATWG form encoding): `"`, CR
 * and LF percent-encoded, so a file name cannot end the parameter or inject a header line.
 */
function quoted(value: string): string {
  return `"${value.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A')}"`;
}

/**
 * Encodes text fields (in the given order, `undefined` ones left out) and then one file as
 * `multipart/form-data` (RFC 7578) with a random boundary.
 */
export function encodeMultipart(fields: Record<string, string | undefined>, file: MultipartFile): MultipartBody {
  const boundary = `----jarek-va-${randomBytes(12).toString('hex')}`;
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name=${quoted(name)}\r\n\r\n${value}\r\n`));
  }
  parts.push(
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name=${quoted(file.name)}; filename=${quoted(file.filename)}\r\n` +
        `Content-Type: ${file.contentType}\r\n\r\n`,
    ),
    file.content,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  );
  return { contentType: `multipart/form-data; boundary=${boundary}`, body: Buffer.concat(parts) };
}
