import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { freePort } from '@chat/infra';

// A TCP proxy the test controls, put between services and a store: `cut()` is a network
// partition (every open connection dropped; new ones accepted but never answered, as packets
// into a cut link are), `heal()` ends it. Nothing else about the traffic changes.

export class TcpProxy {
  readonly port: number;
  private readonly server: Server;
  private readonly open = new Set<Socket>();
  private readonly held = new Set<Socket>();
  private isCut = false;

  private constructor(port: number, server: Server) {
    this.port = port;
    this.server = server;
  }

  /** Listens on a free port and forwards each connection to 127.0.0.1:`upstreamPort`. */
  static async create(upstreamPort: number, port?: number): Promise<TcpProxy> {
    const listenOn = port ?? (await freePort());
    const server = createServer();
    const proxy = new TcpProxy(listenOn, server);
    server.on('connection', (client) => proxy.accept(client, upstreamPort));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listenOn, '127.0.0.1', resolve);
    });
    return proxy;
  }

  cut(): void {
    this.isCut = true;
    for (const socket of this.open) socket.destroy();
    this.open.clear();
  }

  heal(): void {
    this.isCut = false;
    // Held connections saw nothing: their clients time out or, now, see them close.
    for (const socket of this.held) socket.destroy();
    this.held.clear();
  }

  async close(): Promise<void> {
    this.cut();
    this.heal();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private accept(client: Socket, upstreamPort: number): void {
    client.on('error', () => undefined);
    if (this.isCut) {
      this.held.add(client);
      client.pause();
      return;
    }
    const upstream = createConnection({ host: '127.0.0.1', port: upstreamPort });
    let connected = false;
    upstream.once('connect', () => (connected = true));
    // Nothing listening upstream (a killed broker): reset the accepted connection, so the
    // client sees what it would without the proxy, a connection that failed, not one that
    // opened and was closed (kafkajs tries another broker after the first, not the second).
    upstream.on('error', () => (connected ? client.destroy() : client.resetAndDestroy()));
    client.on('error', () => upstream.destroy());
    for (const socket of [client, upstream]) {
      this.open.add(socket);
      socket.on('close', () => {
        this.open.delete(socket);
        (socket === client ? upstream : client).destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
