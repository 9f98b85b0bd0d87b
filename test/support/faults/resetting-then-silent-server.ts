import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A server in Redis's place that resets every connection (the client sees an error, as with a Redis
 * that is down) until {@link hold}, then accepts each new one and never answers (the client waits
 * for its ready check).
 */
export class ResettingThenSilentServer {
  private holding = false;
  private readonly held = new Set<Socket>();
  private constructor(private readonly server: Server) {
    server.on('connection', (socket) => {
      if (!this.holding) {
        socket.resetAndDestroy();
        return;
      }
      this.held.add(socket);
      // Reads and drops what the client sends, so its closing the connection is seen.
      socket.resume();
      socket.on('error', () => undefined);
      socket.on('close', () => this.held.delete(socket));
    });
  }

  static async start(): Promise<ResettingThenSilentServer> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new ResettingThenSilentServer(server);
  }

  get url(): string {
    return `redis://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get heldConnections(): number {
    return this.held.size;
  }

  hold(): void {
    this.holding = true;
  }

  async stop(): Promise<void> {
    for (const socket of this.held) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
