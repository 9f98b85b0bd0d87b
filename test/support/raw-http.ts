import * as net from 'node:net';
import { pollUntil } from './poll';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function decodeChunked(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = body.indexOf('\r\n', offset);
    if (lineEnd < 0) break;
    const size = parseInt(body.subarray(offset, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/**
 * Sends `request` byte for byte on a new connection and reads the answer until the server closes
 * it (`Connection: close`). Unlike `fetch` or `http.request`, nothing is normalised or refused on
 * the way out: malformed paths, raw non-ASCII bytes and oversized headers reach the server as they are.
 */
export function sendRaw(port: number, request: Buffer | string, timeoutMs = 10_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    // Written, not ended: Node's HTTP server drops a request whose client half-closes before the answer.
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no complete answer within ${timeoutMs} ms`)));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    // The server may answer and close before it has read the whole request (an oversized body).
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') reject(error);
    });
    socket.on('close', () => {
      const raw = Buffer.concat(chunks);
      const headEnd = raw.indexOf('\r\n\r\n');
      if (headEnd < 0) {
        reject(new Error(`no HTTP answer: ${JSON.stringify(raw.toString('latin1').slice(0, 200))}`));
        return;
      }
      const [statusLine, ...headerLines] = raw.subarray(0, headEnd).toString('latin1').split('\r\n');
      const headers = Object.fromEntries(
        headerLines.map((line) => {
          const colon = line.indexOf(':');
          return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
        }),
      );
      const body = raw.subarray(headEnd + 4);
      resolve({
        status: Number(statusLine.split(' ')[1]),
        headers,
        body: (headers['transfer-encoding'] === 'chunked' ? decodeChunked(body) : body).toString('utf8'),
      });
    });
  });
}

/** An HTTP/1.1 request with `Connection: close` and, for a body, its `Content-Length`. */
export function rawRequest(method: string, target: string, headers: Record<string, string>, body?: Buffer | string): Buffer {
  const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  const lines = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  if (payload) lines.push(`Content-Length: ${payload.length}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), payload ?? Buffer.alloc(0)]);
}

/**
 * Sends `request` on a new connection and closes it once `entered()` has grown — once the route holds
 * the request: a client that leaves before its answer has begun.
 */
export async function leaveWhileHeld(port: number, request: string, entered: () => number): Promise<void> {
  const before = entered();
  const socket = net.connect(port, '127.0.0.1');
  try {
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(request);
    await pollUntil(async () => entered(), (count) => count > before, 5_000, 5);
  } finally {
    socket.destroy();
  }
}
