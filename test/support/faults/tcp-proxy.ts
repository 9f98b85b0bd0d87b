import { createServer, Socket, type AddressInfo, type Server } from 'node:net';

/** How the proxy treats traffic right now. */
export type ProxyMode = 'pass' | 'refuse' | 'freeze';

interface Link {
  client: Socket;
  upstream: Socket;
  /** Whether the client sent SUBSCRIBE on it: Redis's pub/sub connection. */
  subscriber: boolean;
  frozen: boolean;
  /** Bytes held while frozen, per direction, written in order on thaw. */
  heldUp: Buffer[];
  heldDown: Buffer[];
  /** Cut the link instead of relaying the next answer (its request reached the server). */
  cutOnAnswer: boolean;
}

/**
 * A TCP proxy in front of a Redis (or any server) that a test drives into the faults a network
 * gives: `refuse` (new connections are closed at once), `drop` (every open connection is cut),
 * `freeze` (connections stay open, nothing crosses in either direction until `pass`), and
 * `freezeSubscribers` (only pub/sub connections go silent: a subscriber that hears nothing while
 * commands still work), and `cutAnswerTo` (a request reaches the server, its answer is lost with
 * the connection: the client cannot tell whether it ran); {@link answerDelayMs} slows every answer.
 */
export class TcpProxy {
  private readonly links = new Set<Link>();
  private mode: ProxyMode = 'pass';
  private cutAnswerPattern: RegExp | undefined;
  /** After a cut, new connections are refused this long (open ones pass): the client cannot reconnect at once. */
  private refuseAfterCutMs = 0;
  private refusingNewUntil = 0;
  /** Connections cut by {@link cutAnswerTo} so far. */
  answersCut = 0;
  /** How long every answer is held before it is relayed, in milliseconds: a slow server or network. */
  answerDelayMs = 0;
  private constructor(
    private readonly server: Server,
    private readonly targetPort: number,
    private readonly targetHost: string,
  ) {}

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    const server = createServer();
    const proxy = new TcpProxy(server, targetPort, targetHost);
    server.on('connection', (client) => proxy.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** A `redis://` URL that reaches the target through this proxy. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get openConnections(): number {
    return this.links.size;
  }

  /** Traffic flows again; held bytes are delivered in order. */
  pass(): void {
    this.mode = 'pass';
    for (const link of this.links) this.thawLink(link);
  }

  /** New connections are closed as soon as they open; open ones are cut too. */
  refuse(): void {
    this.mode = 'refuse';
    this.drop();
  }

  /** Cuts every open connection (new ones still pass unless refusing). */
  drop(): void {
    for (const link of [...this.links]) this.close(link);
  }

  /** Every connection, open or new, stays open but nothing crosses it: a hung server. */
  freeze(): void {
    this.mode = 'freeze';
    for (const link of this.links) link.frozen = true;
  }

  /** Only pub/sub connections go silent; command connections keep working. */
  freezeSubscribers(): void {
    for (const link of this.links) if (link.subscriber) link.frozen = true;
  }

  /**
   * The next request whose bytes match `pattern` reaches the server; the connection is then cut
   * instead of relaying its answer (other connections and later requests pass). With
   * `refuseNewForMs`, new connections are refused that long after the cut: its client cannot send
   * the request again at once, while connections already open keep working.
   */
  cutAnswerTo(pattern: RegExp, options: { refuseNewForMs?: number } = {}): void {
    this.cutAnswerPattern = pattern;
    this.refuseAfterCutMs = options.refuseNewForMs ?? 0;
  }

  async stop(): Promise<void> {
    this.drop();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    if (this.mode === 'refuse' || Date.now() < this.refusingNewUntil) {
      client.destroy();
      return;
    }
    const upstream = new Socket();
    const link: Link = { client, upstream, subscriber: false, frozen: this.mode === 'freeze', heldUp: [], heldDown: [], cutOnAnswer: false };
    this.links.add(link);
    client.on('data', (chunk: Buffer) => {
      if (!link.subscriber && /subscribe/i.test(chunk.toString('latin1'))) link.subscriber = true;
      if (this.cutAnswerPattern?.test(chunk.toString('latin1'))) {
        this.cutAnswerPattern = undefined;
        link.cutOnAnswer = true;
      }
      if (link.frozen) link.heldUp.push(chunk);
      else upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (link.cutOnAnswer) {
        this.answersCut += 1;
        this.refusingNewUntil = Date.now() + this.refuseAfterCutMs;
        return this.close(link);
      }
      if (link.frozen) link.heldDown.push(chunk);
      else if (this.answerDelayMs > 0) setTimeout(() => this.links.has(link) && client.write(chunk), this.answerDelayMs);
      else client.write(chunk);
    });
    const end = () => this.close(link);
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    upstream.connect(this.targetPort, this.targetHost);
  }

  private thawLink(link: Link): void {
    link.frozen = false;
    for (const chunk of link.heldUp.splice(0)) link.upstream.write(chunk);
    for (const chunk of link.heldDown.splice(0)) link.client.write(chunk);
  }

  private close(link: Link): void {
    if (!this.links.delete(link)) return;
    link.client.destroy();
    link.upstream.destroy();
  }
}
