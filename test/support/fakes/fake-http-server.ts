import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One request as the fake received it. */
export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** Parsed JSON when the body was JSON, else the raw text (`''` when empty). */
  body: unknown;
  /** The body's bytes as received (multipart uploads carry binary files). */
  rawBody: Buffer;
  /** Which connection carried it: equal numbers mean one reused keep-alive socket. */
  socket: number;
  /**
   * The status the fake answered with, once written; unset while the answer is held or delayed,
   * and for good when the client went away first (the fake never accepted that request).
   */
  answeredWith?: number;
}

/** How the fake answers one request. */
export type FakeReply =
  | {
      status?: number;
      /** Sent as JSON unless it is a string or bytes (sent as is). */
      body?: unknown;
      headers?: Record<string, string>;
      /** Wait this long before answering, in milliseconds (stop() cancels the wait). */
      delayMs?: number;
      /**
       * Answer only once this settles (then `delayMs` applies): a test holds a request open for
       * exactly as long as it needs, with no timing involved.
       */
      release?: Promise<unknown>;
    }
  | {
      /** Destroy the connection without answering. */
      drop: true;
    };

/**
 * The protocol's default answer to a request no scripted reply was queued for. It may be async: a
 * test can look at the world (Redis, the database) at the moment the request arrives.
 */
export type Responder = (request: RecordedRequest) => FakeReply | Promise<FakeReply>;

/**
 * A local HTTP server on a free loopback port standing in for a third-party service. It records
 * every request, answers with the service's protocol (a {@link Responder}) unless replies were
 * queued for a route, and can delay an answer or drop the connection. A fake for another service
 * is a Responder plus a start function: see `cursor-runner-server.ts`.
 */
export class FakeHttpServer {
  readonly requests: RecordedRequest[] = [];
  private readonly queued = new Map<string, FakeReply[]>();
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly waiters = new Set<() => void>();
  private connections = 0;

  private constructor(
    private readonly server: Server,
    private readonly responder: Responder,
  ) {
    server.on('connection', (socket) => {
      const id = ++this.connections;
      (socket as Socket & { fakeId?: number }).fakeId = id;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.on('request', (request, response) => void this.handle(request, response));
  }

  /** Starts a fake on `127.0.0.1` and a port the OS picks. */
  static async start(responder: Responder): Promise<FakeHttpServer> {
    const fake = new FakeHttpServer(createServer(), responder);
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  /** `http://127.0.0.1:<port>` */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Connections accepted so far. */
  get connectionCount(): number {
    return this.connections;
  }

  /** Connections open right now. */
  get openConnectionCount(): number {
    return this.sockets.size;
  }

  /** Queues replies for `route` (`'POST /cursor/execute'`): each request to it takes the next one. */
  enqueue(route: string, ...replies: FakeReply[]): void {
    this.queued.set(route, [...(this.queued.get(route) ?? []), ...replies]);
  }

  /** Requests received for `route` (`'POST /cursor/execute'`). */
  requestsTo(route: string): RecordedRequest[] {
    return this.requests.filter((request) => `${request.method} ${request.path}` === route);
  }

  /** Resolves once `count` requests have been received in total; rejects after `timeoutMs`. */
  async waitForRequests(count: number, timeoutMs = 5_000): Promise<RecordedRequest[]> {
    await waitForCount(this.waiters, () => this.requests.length, count, timeoutMs, 'requests');
    return this.requests;
  }

  /** Forgets recorded requests and queued replies. */
  reset(): void {
    this.requests.length = 0;
    this.queued.clear();
  }

  /** Cancels pending delays, closes every connection and stops listening. */
  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks);
    const text = rawBody.toString('utf8');
    const url = new URL(request.url ?? '/', 'http://fake');
    const recorded: RecordedRequest = {
      method: request.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: request.headers,
      body: parseBody(text, request.headers['content-type']),
      rawBody,
      socket: (request.socket as Socket & { fakeId?: number }).fakeId ?? 0,
    };
    this.requests.push(recorded);
    for (const waiter of [...this.waiters]) waiter();

    const reply = this.queued.get(`${recorded.method} ${recorded.path}`)?.shift() ?? (await this.responder(recorded));
    if ('drop' in reply) {
      request.socket.destroy();
      return;
    }
    const send = (): void => {
      if (response.destroyed || response.socket === null || response.socket.destroyed) return;
      recorded.answeredWith = reply.status ?? 200;
      const raw = typeof reply.body === 'string' || Buffer.isBuffer(reply.body);
      const payload = raw ? (reply.body as string | Buffer) : JSON.stringify(reply.body ?? {});
      response.writeHead(reply.status ?? 200, {
        'Content-Type': typeof reply.body === 'string' ? 'text/plain' : raw ? 'application/octet-stream' : 'application/json',
        ...reply.headers,
      });
      response.end(payload);
    };
    if (reply.release) {
      await reply.release.catch(() => undefined);
      if (response.destroyed) return;
    }
    if (!reply.delayMs) return send();
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      send();
    }, reply.delayMs);
    this.timers.add(timer);
  }
}

function parseBody(text: string, contentType: string | undefined): unknown {
  if (!text || !/json/i.test(contentType ?? '')) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * Resolves once `current()` reaches `count`, checked whenever a waiter in `waiters` is called (the
 * recorder calls them all on each new record); rejects after `timeoutMs` naming what it waited for.
 */
export async function waitForCount(
  waiters: Set<() => void>,
  current: () => number,
  count: number,
  timeoutMs: number,
  what: string,
): Promise<void> {
  if (current() >= count) return;
  await new Promise<void>((resolve, reject) => {
    const check = (): void => {
      if (current() < count) return;
      clearTimeout(timer);
      waiters.delete(check);
      resolve();
    };
    const timer = setTimeout(() => {
      waiters.delete(check);
      reject(new Error(`expected ${count} ${what} within ${timeoutMs} ms, got ${current()}`));
    }, timeoutMs);
    waiters.add(check);
  });
}
