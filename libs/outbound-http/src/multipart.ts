import { FormData, Response } from 'undici';

export { FormData };

/** A `multipart/form-data` body ready to send, and the `Content-Type` header that names its boundary. */
export interface MultipartBody {
  contentType: string;
  body: Buffer;
}

/**
 * Serialises `form` as a browser would (WHATWG form encoding: a random boundary, `"`, CR and LF
 * in names and file names percent-encoded, line breaks in text values sent as CRLF). The body is
 * read into one buffer so an exchange can send it again after a stale socket.
 */
export async function multipartBodyOf(form: FormData): Promise<MultipartBody> {
  const encoded = new Response(form);
  return {
    contentType: encoded.headers.get('content-type') ?? 'multipart/form-data',
    body: Buffer.from(await encoded.arrayBuffer()),
  };
}
