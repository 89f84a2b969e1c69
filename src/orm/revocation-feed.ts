import { Client } from 'pg';

export const CREDENTIALS_CHANNEL = 'roster_credentials';

/**
 * Tells this process when any credential changes (a revocation, from any process):
 * a connection of its own LISTENs on a channel that revocations NOTIFY in their
 * transaction. While the connection is not up, `live` is false and callers must not
 * trust anything they cached; it reconnects by itself.
 */
export class RevocationFeed {
  private client?: Client;
  private live = false;
  private stopped = false;
  private retry?: NodeJS.Timeout;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly url: string,
    private readonly onWarning: (message: string) => void = () => undefined,
  ) {}

  isLive(): boolean {
    return this.live;
  }

  /** Called on every change and whenever the feed goes down. */
  onChange(listener: () => void): void {
    this.listeners.add(listener);
  }

  async start(): Promise<void> {
    const client = new Client({ connectionString: this.url, connectionTimeoutMillis: 3_000, keepAlive: true });
    const lost = (why: string) => {
      if (this.client !== client) return;
      this.live = false;
      this.client = undefined;
      this.emit();
      client.end().catch(() => undefined);
      if (!this.stopped) {
        this.onWarning(`credential revocation feed lost (${why}); reconnecting`);
        this.retry = setTimeout(() => this.start().catch(() => undefined), 1_000);
        this.retry.unref();
      }
    };
    this.client = client;
    client.on('notification', () => this.emit());
    client.on('error', (error) => lost(error.message));
    client.on('end', () => lost('connection ended'));
    try {
      await client.connect();
      await client.query(`listen ${CREDENTIALS_CHANNEL}`);
      this.emit(); // anything cached before this point may have missed a notification
      this.live = true;
    } catch (error) {
      lost((error as Error).message);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.live = false;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private emit(): void {
    for (const listener of this.listeners) listener();
  }
}
