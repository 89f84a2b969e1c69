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

  /** An outage, up, in front of the database at `databaseUrl`, and the URL that reaches that database through it. */
  static async before(databaseUrl: string): Promise<{ outage: Outage; url: string }> {
    const target = new URL(databaseUrl);
    const port = Number(target.port || 5432);
    // The embedded database listens on a Unix socket: its URL's host is the socket's directory.
    const socketDir = decodeURIComponent(target.hostname);
    const outage = new Outage(socketDir.startsWith('/') ? { path: `${socketDir}/.s.PGSQL.${port}` } : { host: target.hostname, port });
    await outage.up();
    const proxied = new URL(databaseUrl);
    proxied.host = `127.0.0.1:${outage.port}`;
    return { outage, url: proxied.toString() };
  }

  async up(): Promise<void> {
    this.holding = false;
    if (this.server?.listening) return;
    this.server = net.createServer((client) => {
      const upstream = 'path' in this.target ? net.connect(this.target.path) : net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.on('data', (chunk: Buffer) => {
        // Held: what the client sends stays here (it has left the client, not reached the database).
        if (this.holding) this.heldBytes += chunk.length;
        else upstream.write(chunk);
      });
      client.on('end', () => upstream.end());
      upstream.pipe(client);
    });
    await new Promise<void>((resolve) => this.server?.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  private holding = false;
  /** Bytes clients sent while held. */
  heldBytes = 0;

  /**
   * From now on, what clients send is dropped here and never reaches the database: a
   * statement sent now is in flight until `down()` cuts its connection, on PostgreSQL
   * and on the embedded database alike. Follow it with `down()`: a connection that
   * lived through a hold has lost bytes and is out of step with its server. `up()`
   * ends the hold for the connections made after it.
   */
  hold(): void {
    this.holding = true;
    this.heldBytes = 0;
  }

  async down(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
