import { randomBytes } from 'node:crypto';
import * as path from 'node:path';

/**
 * The original's HTML escaping for `parse_mode: HTML` (domain.md §3.7): `&` first (so an existing
 * entity is escaped rather than kept), then `<` and `>`. Quotes are left alone: Telegram's HTML
 * only needs them escaped inside attribute values, which plain text never has.
 */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** MIME type of a voice upload by file extension (domain.md §3.7): Ogg and WAV by name, MP3 otherwise. */
export function voiceMimeType(fileName: string): string {
  switch (path.extname(fileName).toLowerCase()) {
    case '.ogg':
    case '.oga':
      return 'audio/ogg';
    case '.wav':
      return 'audio/wav';
    default:
      return 'audio/mpeg';
  }
}

/** One file part of a multipart body. */
export interface MultipartFile {
  field: string;
  fileName: string;
  contentType: string;
  bytes: Buffer;
}

/** A `multipart/form-data` body and the `Content-Type` header that names its boundary. */
export interface MultipartBody {
  contentType: string;
  body: Buffer;
}

function quoted(value: string): string {
  return `"${value.replace(/[\r\n"\\]/g, (character) => encodeURIComponent(character))}"`;
}

/**
 * Encodes text fields and one file as `multipart/form-data` (RFC 7578). Field values are UTF-8;
 * a quote, backslash or line break in a file name is percent-encoded so it cannot end the header.
 */
export function encodeMultipart(fields: Record<string, string>, file: MultipartFile): MultipartBody {
  const boundary = `----jarek-va-${randomBytes(12).toString('hex')}`;
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) {
    parts.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name=${quoted(name)}\r\n\r\n${value}\r\n`, 'utf8'),
    );
  }
  parts.push(
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name=${quoted(file.field)}; filename=${quoted(file.fileName)}\r\n` +
        `Content-Type: ${file.contentType}\r\n\r\n`,
      'utf8',
    ),
    file.bytes,
    Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8'),
  );
  return { contentType: `multipart/form-data; boundary=${boundary}`, body: Buffer.concat(parts) };
}
