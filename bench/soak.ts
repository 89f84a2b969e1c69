import type autocannon from 'autocannon';
import { cannon } from './load';
import { currentRss } from './processes';
import { SOAK_REQUESTS, type Context } from './scenarios';

/**
 * `npm run bench -- --soak 10m`: a steady mixed load (lookups, PATCHes, creates) for
 * the whole duration, Roster's RSS sampled every 5 s. It passes when no response is
 * an error and memory is flat: the last quarter's average RSS within 15% of the
 * second quarter's (the first quarter is warm-up).
 */
export async function soak(ctx: Context, seconds: number, pid: number): Promise<{ lines: string[]; pass: boolean }> {
  const samples: { at: number; rss: number }[] = [];
  const started = Date.now();
  const timer = setInterval(() => {
    const rss = currentRss(pid);
    if (rss !== undefined) samples.push({ at: (Date.now() - started) / 1000, rss: rss / 1024 / 1024 });
  }, 5_000);
  timer.unref();
  let result;
  try {
    result = await cannon({
      url: ctx.rosterUrl,
      connections: ctx.options.connections,
      duration: seconds,
      setupClient: (client: autocannon.Client) => client.setRequests(SOAK_REQUESTS(ctx)),
    });
  } finally {
    clearInterval(timer);
  }
  const quarter = (q: number) => {
    const from = (seconds * q) / 4;
    const to = (seconds * (q + 1)) / 4;
    const xs = samples.filter((s) => s.at >= from && s.at < to).map((s) => s.rss);
    return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
  };
  const second = quarter(1);
  const last = quarter(3);
  const growth = (last - second) / second;
  const errors = result.non2xx + result.errors + result.timeouts;
  const flat = Number.isFinite(growth) && growth < 0.15;
  const mb = (n: number) => `${Math.round(n)} MB`;
  const lines = [
    `soak: ${seconds} s, ${ctx.options.connections} connections, mixed lookups / PATCH active / POST`,
    `  ${Math.round(result.requestsPerSecond).toLocaleString('en-US')} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms, ${result.requests.toLocaleString('en-US')} requests`,
    `  error responses: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts (${JSON.stringify(result.statusCounts)})`,
    `  RSS: 2nd quarter ${mb(second)}, last quarter ${mb(last)} (${(growth * 100).toFixed(1)}%), peak ${mb(Math.max(...samples.map((s) => s.rss), 0))}`,
    `  samples: ${samples.map((s) => `${Math.round(s.at)}s=${Math.round(s.rss)}`).join(' ')}`,
    `  ${errors === 0 && flat ? 'PASS' : 'FAIL'}    soak: no error responses and flat memory`,
  ];
  return { lines, pass: errors === 0 && flat };
}
