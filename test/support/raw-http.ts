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

/** The answers in `raw`, one after another as a connection carries them (pipelined requests' answers). */
function parseAnswers(raw: Buffer): RawResponse[] {
  const answers: RawResponse[] = [];
  let offset = 0;
  while (offset < raw.length) {
    const headEnd = raw.indexOf('\r\n\r\n', offset);
    if (headEnd < 0) break;
    const [statusLine, ...headerLines] = raw.subarray(offset, headEnd).toString('latin1').split('\r\n');
    const headers = Object.fromEntries(
      headerLines.map((line) => {
        const colon = line.indexOf(':');
        return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
      }),
    );
    const bodyStart = headEnd + 4;
    let bodyEnd: number;
    let body: Buffer;
    if (headers['transfer-encoding'] === 'chunked') {
      const lastChunk = raw.indexOf('\r\n0\r\n\r\n', bodyStart - 2);
      bodyEnd = lastChunk < 0 ? raw.length : lastChunk + 7;
      body = decodeChunked(raw.subarray(bodyStart, bodyEnd));
    } else {
      const length = headers['content-length'];
      bodyEnd = length === undefined ? raw.length : Math.min(raw.length, bodyStart + Number(length));
      body = raw.subarray(bodyStart, bodyEnd);
    }
    answers.push({ status: Number(statusLine.split(' ')[1]), headers, body: body.toString('utf8') });
    offset = bodyEnd;
  }
  return answers;
}

/** A connection to write raw bytes on, in as many writes as a test needs, and every answer read until the server closes it. */
export interface RawConnection {
  send(bytes: Buffer | string): void;
  /** Sends the last bytes and half-closes: the client sends nothing more but still reads. */
  end(bytes: Buffer | string): void;
  /** Drops the connection from the client's side. */
  close(): void;
  /** Resolves once the bytes received so far contain `text`. */
  received(text: string): Promise<void>;
  answers: Promise<RawResponse[]>;
}

export function openRaw(port: number, timeoutMs = 10_000): RawConnection {
  const socket = net.connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  const received = (text: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!Buffer.concat(chunks).includes(text)) return false;
        socket.off('data', onData);
        socket.off('close', onClose);
        resolve();
        return true;
      };
      const onData = () => void check();
      const onClose = () => reject(new Error(`the connection closed before ${JSON.stringify(text)} arrived`));
      if (check()) return;
      // Listens after the collecting listener below, so the chunk that completes `text` is already in `chunks`.
      socket.on('data', onData);
      socket.once('close', onClose);
    });
  const answers = new Promise<RawResponse[]>((resolve, reject) => {
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`the server did not close the connection within ${timeoutMs} ms`)));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    // The server may answer and close before it has read the whole request (an oversized body).
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') reject(error);
    });
    socket.on('close', () => resolve(parseAnswers(Buffer.concat(chunks))));
  });
  // `send` writes without ending: Node's HTTP server drops a request whose client half-closes before the answer.
  return { send: (bytes) => void socket.write(bytes), end: (bytes) => void socket.end(bytes), close: () => void socket.destroy(), received, answers };
}

/**
 * Sends `request` byte for byte on a new connection and reads every answer until the server closes
 * it. Unlike `fetch` or `http.request`, nothing is normalised or refused on the way out: malformed
 * paths, raw non-ASCII bytes and oversized headers reach the server as they are, and several
 * requests may be written at once (pipelined).
 */
export function sendRawAll(port: number, request: Buffer | string, timeoutMs = 10_000): Promise<RawResponse[]> {
  const connection = openRaw(port, timeoutMs);
  connection.send(request);
  return connection.answers;
}

/** {@link sendRawAll} for one request: its answer, read until the server closes the connection (`Connection: close`). */
export async function sendRaw(port: number, request: Buffer | string, timeoutMs = 10_000): Promise<RawResponse> {
  const [answer] = await sendRawAll(port, request, timeoutMs);
  if (!answer) throw new Error('no HTTP answer before the server closed the connection');
  return answer;
}

/**
 * An HTTP/1.1 request with, for a body, its `Content-Length`, and `Connection: close` unless it is to
 * keep the connection open (a request with others pipelined behind it).
 */
export function rawRequest(
  method: string,
  target: string,
  headers: Record<string, string>,
  body?: Buffer | string,
  { keepAlive = false }: { keepAlive?: boolean } = {},
): Buffer {
  const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  const lines = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1', ...(keepAlive ? [] : ['Connection: close'])];
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
