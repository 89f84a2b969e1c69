import http from 'node:http';
import autocannon from 'autocannon';

/** What one timed load run measured. Latencies in milliseconds. */
export interface LoadResult {
  requests: number;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  seconds: number;
  statusCounts: Record<string, number>;
}

export interface CannonOptions {
  url: string;
  connections: number;
  /** Seconds. */
  duration: number;
  headers?: Record<string, string>;
  requests?: autocannon.Request[];
  setupClient?: (client: autocannon.Client) => void;
}

let running: autocannon.Instance | undefined;

/** Stops the load run under way, if any (ctrl-c). */
export function stopLoad(): void {
  running?.stop();
}

/** Only loopback targets are ever driven. */
export function assertLoopback(url: string): void {
  const host = new URL(url).hostname;
  if (host !== '127.0.0.1') throw new Error(`refusing to drive ${url}: only 127.0.0.1 targets are allowed`);
}

/** Drives `url` at fixed concurrency for a fixed time with autocannon. */
export function cannon(options: CannonOptions): Promise<LoadResult> {
  assertLoopback(options.url);
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        duration: options.duration,
        timeout: 30,
        headers: options.headers ?? {},
        ...(options.requests ? { requests: options.requests } : {}),
        ...(options.setupClient ? { setupClient: options.setupClient } : {}),
      },
      (error, result) => {
        running = undefined;
        if (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
          return;
        }
        const statusCounts: Record<string, number> = {};
        for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statusCounts[code] = stat.count ?? 0;
        const completed = Object.values(statusCounts).reduce((a, b) => a + b, 0) || result.requests.total;
        const seconds = Math.max(0.001, (result.finish.getTime() - result.start.getTime()) / 1000);
        resolve({
          requests: completed,
          requestsPerSecond: completed / seconds,
          p50: result.latency.p50,
          p99: result.latency.p99,
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          seconds,
          statusCounts,
        });
      },
    );
    running = instance;
  });
}

/** Percentile of a sorted array (nearest rank). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/** A request with fetch that never hangs: a time limit, and the body read as text. */
export async function request(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
): Promise<{ status: number; text: string; json: () => unknown }> {
  assertLoopback(url);
  let response: Response;
  try {
    response = await fetch(url, {
      method: init.method ?? 'GET',
      headers: init.headers ?? {},
      ...(init.body !== undefined ? { body: init.body } : {}),
      signal: AbortSignal.timeout(init.timeoutMs ?? 30_000),
    });
  } catch (error) {
    // fetch hides the reason (refused, reset, timeout) in `cause`.
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
    throw new Error(`${init.method ?? 'GET'} ${new URL(url).pathname} failed${cause}`);
  }
  const text = await response.text();
  return { status: response.status, text, json: () => JSON.parse(text) as unknown };
}

const keepAliveAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/**
 * A request over node:http on kept-alive connections: the load generator of a scenario
 * that cannot be autocannon (scenario 8 waits for each lookup before its create). fetch
 * cost the bench process about 1 ms of CPU per user there (two requests), a core's worth
 * at 400 users/s, on the two cores the server and PostgreSQL share with it
 * (docs/benchmarks.md). The body is read as text.
 */
export function keepAliveRequest(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
): Promise<{ status: number; text: string }> {
  assertLoopback(url);
  const method = init.method ?? 'GET';
  return new Promise((resolve, reject) => {
    const body = init.body === undefined ? undefined : Buffer.from(init.body);
    const req = http.request(
      url,
      {
        method,
        agent: keepAliveAgent,
        headers: { ...init.headers, ...(body ? { 'content-length': String(body.length) } : {}) },
        timeout: init.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${new URL(url).pathname} timed out`)));
    req.on('error', (error) => reject(new Error(`${method} ${new URL(url).pathname} failed: ${error.message}`)));
    req.end(body);
  });
}
