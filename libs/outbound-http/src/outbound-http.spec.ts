import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { OutboundHttp, type OutboundHttpOptions } from './outbound-http';
import {
  OutboundConnectionError,
  OutboundResponseTooLargeError,
  OutboundTimeoutError,
  transportErrorOf,
} from './outbound-http.errors';
import { systemError } from '../../../test/support/errors';

/** One request as the test server received it. */
interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** Which connection carried it, numbered from 1 in the order they were accepted. */
  socket: number;
}

type Handler = (request: Received, response: ServerResponse, socket: Socket) => void;

/** A loopback HTTP server on a port the OS picks; `handle` answers (or breaks) each request. */
class TestServer {
  readonly received: Received[] = [];
  connections = 0;
  handle: Handler = (_request, response) => response.end('ok');
  private readonly sockets = new Set<Socket>();
  private readonly ids = new WeakMap<Socket, number>();

  private constructor(private readonly server: Server) {
    server.on('connection', (socket) => {
      this.ids.set(socket, ++this.connections);
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const received: Received = {
          method: request.method ?? '',
          url: request.url ?? '',
          headers: request.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          socket: this.ids.get(request.socket) ?? 0,
        };
        this.received.push(received);
        this.handle(received, response, request.socket);
      });
    });
  }

  static async start(): Promise<TestServer> {
    const server = new TestServer(createServer());
    await new Promise<void>((resolve) => server.server.listen(0, '127.0.0.1', resolve));
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A loopback port nothing listens on: the OS picked it for a server that has closed since. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe('OutboundHttp against a local HTTP server', () => {
  let server: TestServer;
  const upstreams: OutboundHttp[] = [];

  function upstream(options: Partial<OutboundHttpOptions> = {}): OutboundHttp {
    const created = new OutboundHttp({ baseUrl: server.url, timeoutMs: 10_000, keepAlive: true, ...options });
    upstreams.push(created);
    return created;
  }

  beforeEach(async () => {
    server = await TestServer.start();
  });
  afterEach(async () => {
    for (const created of upstreams.splice(0)) created.close();
    await server.stop();
  });

  it('sends the method, path, headers and body, and resolves with the whole answer', async () => {
    server.handle = (request, response) => {
      response.writeHead(201, 'Made It', { 'Content-Type': 'application/json', 'X-Echo': request.headers['x-trace'] });
      response.end(JSON.stringify({ got: request.body }));
    };
    const answer = await upstream().exchange({
      method: 'POST',
      path: '/things?kind=a',
      headers: { 'Content-Type': 'text/plain', 'X-Trace': 't-1' },
      body: 'héllo',
    });
    expect(answer).toEqual({
      status: 201,
      statusText: 'Made It',
      headers: expect.objectContaining({ 'content-type': 'application/json', 'x-echo': 't-1' }),
      body: Buffer.from(JSON.stringify({ got: 'héllo' })),
    });
    expect(server.received).toEqual([
      {
        method: 'POST',
        url: '/things?kind=a',
        headers: expect.objectContaining({ 'content-length': '6', 'x-trace': 't-1', connection: 'keep-alive' }),
        body: 'héllo',
        socket: 1,
      },
    ]);
  });

  it('keeps the path of the base URL before each request path', async () => {
    await upstream({ baseUrl: `${server.url}/prefix/v2` }).exchange({ method: 'GET', path: '/things?x=1' });
    expect(server.received.map((request) => request.url)).toEqual(['/prefix/v2/things?x=1']);
  });

  it('sends no Content-Length without a body, and resolves with error statuses too', async () => {
    server.handle = (_request, response) => {
      response.statusCode = 404;
      response.end('gone');
    };
    const answer = await upstream().exchange({ method: 'GET', path: '/file' });
    expect(answer).toMatchObject({ status: 404, statusText: 'Not Found', body: Buffer.from('gone') });
    expect(server.received[0].headers).not.toHaveProperty('content-length');
  });

  it('reuses one keep-alive connection for sequential exchanges', async () => {
    const client = upstream();
    for (let call = 0; call < 4; call += 1) await client.exchange({ method: 'GET', path: `/${call}` });
    expect(server.received.map((request) => request.socket)).toEqual([1, 1, 1, 1]);
  });

  it('opens a connection per exchange without keep-alive', async () => {
    const client = upstream({ keepAlive: false });
    for (let call = 0; call < 3; call += 1) await client.exchange({ method: 'GET', path: `/${call}` });
    expect(server.received.map((request) => request.socket)).toEqual([1, 2, 3]);
  });

  it('queues concurrent exchanges beyond maxSockets on the open connections', async () => {
    const client = upstream({ maxSockets: 2 });
    await Promise.all([1, 2, 3, 4, 5].map((call) => client.exchange({ method: 'GET', path: `/${call}` })));
    expect(server.received).toHaveLength(5);
    expect(server.connections).toBe(2);
  });

  it('gives up at the deadline with a timeout error naming it', async () => {
    server.handle = () => undefined;
    const error = await upstream({ timeoutMs: 150 })
      .exchange({ method: 'GET', path: '/slow' })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OutboundTimeoutError);
    expect(error).toMatchObject({ name: 'OutboundTimeoutError', message: 'no answer within 150 ms', timeoutMs: 150 });
  });

  it('counts reading the body in the deadline, and takes a per-exchange deadline', async () => {
    server.handle = (_request, response) => {
      response.writeHead(200, { 'Content-Length': '10' });
      response.write('12345');
    };
    const error = await upstream()
      .exchange({ method: 'GET', path: '/stalls', timeoutMs: 150 })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OutboundTimeoutError);
    expect(error).toMatchObject({ timeoutMs: 150 });
  });

  it('reports a refused connection with its code', async () => {
    const port = await closedPort();
    const error = await upstream({ baseUrl: `http://127.0.0.1:${port}` })
      .exchange({ method: 'GET', path: '/' })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OutboundConnectionError);
    expect(error).toMatchObject({ message: `connect ECONNREFUSED 127.0.0.1:${port}`, code: 'ECONNREFUSED' });
  });

  it('sends once more on another connection when a reused one turns out closed before any answer', async () => {
    const client = upstream();
    await client.exchange({ method: 'GET', path: '/first' });
    server.handle = (request, response, socket) => {
      if (request.url === '/second' && request.socket === 1) return void socket.destroy();
      response.end(`answer on ${request.socket}`);
    };
    const answer = await client.exchange({ method: 'POST', path: '/second', body: 'payload' });
    expect(answer.body.toString()).toBe('answer on 2');
    expect(server.received.map(({ url, socket, body }) => ({ url, socket, body }))).toEqual([
      { url: '/first', socket: 1, body: '' },
      { url: '/second', socket: 1, body: 'payload' },
      { url: '/second', socket: 2, body: 'payload' },
    ]);
  });

  it('never sends a request marked sendOnce again: the server may have read it before the reused connection broke', async () => {
    const client = upstream();
    await client.exchange({ method: 'GET', path: '/first' });
    server.handle = (_request, _response, socket) => socket.destroy();
    const error = await client.exchange({ method: 'POST', path: '/run', body: 'payload', sendOnce: true }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OutboundConnectionError);
    expect(error).toMatchObject({ code: 'ECONNRESET' });
    expect(server.received.map(({ url, socket }) => ({ url, socket }))).toEqual([
      { url: '/first', socket: 1 },
      { url: '/run', socket: 1 },
    ]);
  });

  it('sends again only once, even when the resend’s connection is closed too', async () => {
    const client = upstream();
    await Promise.all([client.exchange({ method: 'GET', path: '/a' }), client.exchange({ method: 'GET', path: '/b' })]);
    expect(server.connections).toBe(2);
    server.handle = (_request, _response, socket) => socket.destroy();
    const error = await client.exchange({ method: 'GET', path: '/c' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OutboundConnectionError);
    expect(error).toMatchObject({ message: 'socket hang up', code: 'ECONNRESET' });
    const sent = server.received.filter((request) => request.url === '/c').map((request) => request.socket);
    expect(sent).toHaveLength(2);
    expect([1, 2]).toContain(sent[0]);
    expect(sent[1]).not.toBe(sent[0]);
  });

  it('does not send again when a new connection is closed', async () => {
    server.handle = (_request, _response, socket) => socket.destroy();
    const error = await upstream().exchange({ method: 'GET', path: '/' }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ message: 'socket hang up', code: 'ECONNRESET' });
    expect(server.received).toHaveLength(1);
  });

  it('reports an answer cut short as a broken connection, and does not send again', async () => {
    const client = upstream();
    await client.exchange({ method: 'GET', path: '/warm-up' });
    server.handle = (_request, response, socket) => {
      response.writeHead(200, { 'Content-Length': '10' });
      response.write('12345', () => socket.destroy());
    };
    const error = await client.exchange({ method: 'GET', path: '/cut' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OutboundConnectionError);
    expect(error).toMatchObject({ message: 'connection closed before the answer was complete', code: 'ECONNRESET' });
    expect(server.received.map((request) => request.url)).toEqual(['/warm-up', '/cut']);
  });

  it.each([
    [
      'announced by Content-Length, before any of it is read',
      (response: ServerResponse) => {
        response.setHeader('Content-Length', '2048');
        response.flushHeaders();
      },
    ],
    [
      'counted while streaming',
      (response: ServerResponse) => {
        response.setHeader('Transfer-Encoding', 'chunked');
        response.write(Buffer.alloc(1000, 1));
        response.end(Buffer.alloc(1048, 1));
      },
    ],
  ])('refuses an answer over maxResponseBytes (%s) and keeps serving', async (_case, answerTooMuch) => {
    const client = upstream();
    server.handle = (request, response) => {
      response.statusCode = 202;
      if (request.url === '/big') return answerTooMuch(response);
      response.end(Buffer.alloc(1024, 2));
    };
    const error = await client
      .exchange({ method: 'GET', path: '/big', maxResponseBytes: 1024 })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OutboundResponseTooLargeError);
    expect(error).toMatchObject({ message: 'answer is larger than 1024 bytes', maxResponseBytes: 1024, status: 202 });
    const exact = await client.exchange({ method: 'GET', path: '/exact', maxResponseBytes: 1024 });
    expect(exact.body).toEqual(Buffer.alloc(1024, 2));
  });

  it('fails an exchange in flight on close(), without sending it again', async () => {
    const client = upstream();
    await client.exchange({ method: 'GET', path: '/warm-up' });
    let arrived!: () => void;
    const waiting = new Promise<void>((resolve) => (arrived = resolve));
    server.handle = () => arrived();
    const pending = client.exchange({ method: 'GET', path: '/hangs' }).catch((caught: unknown) => caught);
    await waiting;
    client.close();
    expect(await pending).toBeInstanceOf(OutboundConnectionError);
    expect(server.received.map((request) => request.url)).toEqual(['/warm-up', '/hangs']);
  });
});

describe('transportErrorOf', () => {
  it.each(['ETIMEDOUT', 'ESOCKETTIMEDOUT'])('reports the operating system’s %s as a timeout in its words', (code) => {
    const error = transportErrorOf(systemError(`connect ${code} 10.0.0.1:443`, code), 5_000);
    expect(error).toBeInstanceOf(OutboundTimeoutError);
    expect(error).toMatchObject({ message: `connect ${code} 10.0.0.1:443`, timeoutMs: 5_000 });
  });

  it('reports anything else as a connection error keeping the code and the cause', () => {
    const cause = systemError('getaddrinfo ENOTFOUND nowhere.invalid', 'ENOTFOUND');
    const error = transportErrorOf(cause, 5_000);
    expect(error).toBeInstanceOf(OutboundConnectionError);
    expect(error).toMatchObject({ message: cause.message, code: 'ENOTFOUND', cause });
    expect(transportErrorOf(systemError('socket hang up'), 5_000)).toMatchObject({ code: undefined });
  });
});
