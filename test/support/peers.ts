/**
 * Loopback TCP peers that are not the server a client expects: one that
 * accepts and never answers, or one that answers in another protocol. The
 * port of a paused service may be held by such a program when it starts
 * again, and the engines' clients must end their waits then.
 */
import net from "node:net";

export class Peers {
  private readonly servers: net.Server[] = [];
  private readonly sockets: net.Socket[] = [];

  /** Listens on a free loopback port; `onConnection` gets each accepted socket. */
  async listen(onConnection: (socket: net.Socket) => void = () => {}): Promise<number> {
    const server = net.createServer((socket) => {
      this.sockets.push(socket);
      onConnection(socket);
    });
    this.servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return (server.address() as net.AddressInfo).port;
  }

  /** A silent peer never reads, so it never sees the client hang up: its side is closed here. */
  async close(): Promise<void> {
    for (const s of this.sockets.splice(0)) s.destroy();
    for (const s of this.servers.splice(0)) await new Promise((r) => s.close(r));
  }
}
