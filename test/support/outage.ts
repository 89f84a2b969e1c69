import net from 'node:net';

/**
 * A TCP proxy between Roster and its PostgreSQL that a test can cut and restore: the
 * database "goes away" and comes back while Roster keeps running. From Roster's side
 * this is what a PostgreSQL restart looks like: every connection dropped mid-query, new
 * ones refused for a while, then working again; and it works on the embedded database
 * too (its Unix socket).
 */
export class Outage {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  /** A TCP host and port, or the socket file of the embedded database (a Unix socket). */
  constructor(private readonly target: { host: string; port: number } | { path: string }) {}

  async up(): Promise<void> {
    if (this.server?.listening) return;
    this.server = net.createServer((client) => {
      const upstream = 'path' in this.target ? net.connect(this.target.path) : net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server?.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  async down(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
