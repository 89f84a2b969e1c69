/**
 * The cost curve (#16 item 3): the same scenarios at several seed sizes, side by side, the
 * ratio of the largest size's per-request figures to the smallest's against the 1.3x target,
 * and the plot (a hand-written SVG: requests/s and p99 against users, log x axis).
 * Pure functions of the rows, so `test/unit/bench-curve.test.ts` can check them.
 */

/** What the curve reads of a results row (scenarios.ts's Row has more). */
export interface CurvePoint {
  key: string;
  label: string;
  unit: string;
  rate: number;
  p99: number;
  problems: string[];
  errors: number;
  non2xx: number;
}

export interface CurveSize {
  users: number;
  rows: CurvePoint[];
  seedSeconds: number;
  databaseBytes: number;
  loadAverage: { start: number[]; end: number[] };
}

/** The 1.3x bound of #16 item 3, and the rows it binds: lookups, creates, PATCHes, group member changes, deep pages. */
export const CURVE_LIMIT = 1.3;
export const CURVE_KEYS = ['1', '3', '4', '5a-big', '5a-small', '5b-big', '5b-small', '7a', '7b'];
/** The rows the plot draws: the bound ones and the read baseline (the host's own curve). */
const PLOTTED = ['B1', ...CURVE_KEYS];

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '–');
const clean = (p: CurvePoint) => p.rate > 0 && p.problems.length === 0 && p.errors === 0 && p.non2xx === 0;

/** Every row key of the run, in the order of the first size that has it. */
function keysOf(sizes: CurveSize[]): string[] {
  const keys: string[] = [];
  for (const size of sizes) for (const row of size.rows) if (!keys.includes(row.key)) keys.push(row.key);
  return keys;
}

/** A row's label at the largest size that ran it (scenario 7a's names its depth there). */
function labelOf(sizes: CurveSize[], key: string): string {
  for (let i = sizes.length - 1; i >= 0; i--) {
    const row = sizes[i]?.rows.find((r) => r.key === key);
    if (row) return row.label;
  }
  return key;
}

export interface CurveVerdict {
  key: string;
  /** Mean time per request at the largest size over the smallest's (the rate ratio, smallest over largest). */
  timeRatio: number;
  p99Ratio: number;
  verdict: 'PASS' | 'FAIL' | 'not run';
}

/** The ratio of the largest size's per-request figures to the smallest's, for one row key. */
export function curveVerdict(sizes: CurveSize[], key: string): CurveVerdict {
  const first = sizes[0]?.rows.find((r) => r.key === key);
  const last = sizes[sizes.length - 1]?.rows.find((r) => r.key === key);
  if (!first || !last || sizes.length < 2) return { key, timeRatio: NaN, p99Ratio: NaN, verdict: 'not run' };
  const timeRatio = last.rate > 0 ? first.rate / last.rate : Infinity;
  const p99Ratio = first.p99 > 0 ? last.p99 / first.p99 : NaN;
  return { key, timeRatio, p99Ratio, verdict: timeRatio <= CURVE_LIMIT && clean(first) && clean(last) ? 'PASS' : 'FAIL' };
}

const users = (n: number) => (n >= 1_000_000 && n % 1_000_000 === 0 ? `${n / 1_000_000}M` : n >= 1_000 && n % 1_000 === 0 ? `${n / 1_000}k` : String(n));

/** The side-by-side table in Markdown: per row, rate and p99 at each size, and the verdict of the bound rows. */
export function curveMarkdown(sizes: CurveSize[]): string {
  const head = ['#', 'scenario', ...sizes.map((s) => `${users(s.users)}: rate, p99 ms`), `largest / smallest: time per request, p99 (≤ ${CURVE_LIMIT}x)`];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`];
  for (const key of keysOf(sizes)) {
    const label = labelOf(sizes, key);
    const cells = sizes.map((s) => {
      const r = s.rows.find((row) => row.key === key);
      return r ? `${fmt(r.rate)} ${r.unit}, ${r.p99}${clean(r) ? '' : ' (errors)'}` : '';
    });
    let verdict = '';
    if (CURVE_KEYS.includes(key)) {
      const v = curveVerdict(sizes, key);
      verdict = v.verdict === 'not run' ? 'not run' : `${v.verdict === 'FAIL' ? '**FAIL**' : 'PASS'} ${fmt(v.timeRatio, 2)}x, p99 ${fmt(v.p99Ratio, 2)}x`;
    }
    lines.push(`| ${key} | ${label.replace(/\|/g, '\\|')} | ${cells.join(' | ')} | ${verdict} |`);
  }
  const seeds = sizes.map(
    (s) =>
      `| ${s.users.toLocaleString('en-US')} | ${fmt(s.seedSeconds, 1)} s | ${fmt(s.databaseBytes / 1024 ** 3, 2)} GiB | ${s.loadAverage.start.map((l) => l.toFixed(2)).join(' / ')} | ${s.loadAverage.end.map((l) => l.toFixed(2)).join(' / ')} |`,
  );
  return [
    lines.join('\n'),
    '',
    '| users | seed time | database on disk (pg_database_size, after the seed) | load average at start | at end |',
    '|---:|---:|---:|---|---|',
    ...seeds,
  ].join('\n');
}

/** The side-by-side figures for the terminal. */
export function curveText(sizes: CurveSize[]): string {
  const out: string[] = [];
  for (const key of keysOf(sizes)) {
    const cells = sizes.map((s) => {
      const r = s.rows.find((row) => row.key === key);
      return `${users(s.users).padStart(5)} ${r ? `${fmt(r.rate).padStart(6)}/s p99 ${String(r.p99).padStart(4)}` : ''.padStart(18)}`;
    });
    const v = CURVE_KEYS.includes(key) ? curveVerdict(sizes, key) : undefined;
    out.push(`${key.padEnd(9)} ${cells.join('  ')}${v ? `  ${v.verdict} ${fmt(v.timeRatio, 2)}x (p99 ${fmt(v.p99Ratio, 2)}x)` : ''}`);
  }
  for (const s of sizes)
    out.push(`seed of ${s.users.toLocaleString('en-US')} users: ${fmt(s.seedSeconds, 1)} s, ${fmt(s.databaseBytes / 1024 ** 3, 2)} GiB on disk`);
  return out.join('\n');
}

/* ------------------------------------------------------------------------------------ */

const COLORS = ['#7f7f7f', '#1f77b4', '#ff7f0e', '#2ca02c', '#98df8a', '#d62728', '#ff9896', '#9467bd', '#8c564b', '#e377c2'];
const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * A log axis for positive values: from the power of ten at or below the smallest to the one
 * at or above the largest, with ticks at 1, 2 and 5 times each power of ten.
 */
export function logAxis(values: number[]): { lo: number; hi: number; ticks: number[] } {
  const positive = values.filter((v) => v > 0 && Number.isFinite(v));
  if (positive.length === 0) return { lo: 1, hi: 10, ticks: [1, 2, 5, 10] };
  const lo = Math.floor(Math.log10(Math.min(...positive)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...positive))));
  const ticks: number[] = [];
  for (let e = lo; e <= hi; e++) for (const m of [1, 2, 5]) if (e < hi || m === 1) ticks.push(m * 10 ** e);
  return { lo: 10 ** lo, hi: 10 ** hi, ticks };
}

interface Panel {
  title: string;
  top: number;
  value: (p: CurvePoint) => number;
}

/**
 * The plot: two panels sharing a log x axis of users, requests/s above and p99 (ms)
 * below, both on log y axes (a 1.3x change is the same height anywhere), one line per
 * plotted row key (baselines dashed), a legend on the right. Self-contained SVG 1.1.
 */
export function curveSvg(sizes: CurveSize[], title = 'Roster: requests/s and p99 against users'): string {
  const width = 1060;
  const plot = { left: 70, width: 560, height: 220 };
  const panels: Panel[] = [
    { title: 'requests/s (log scale)', top: 50, value: (p) => p.rate },
    { title: 'p99 latency, ms (log scale)', top: 330, value: (p) => p.p99 },
  ];
  const height = 620;
  const xs = sizes.map((s) => s.users);
  const lo = Math.log10(Math.min(...xs));
  const hi = Math.log10(Math.max(...xs));
  const span = hi > lo ? hi - lo : 1;
  const pad = 0.08 * span;
  const x = (n: number) => plot.left + ((Math.log10(n) - lo + pad) / (span + 2 * pad)) * plot.width;
  const keys = keysOf(sizes).filter((k) => PLOTTED.includes(k));
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${plot.left}" y="24" font-size="16" font-weight="bold">${escape(title)}</text>`,
  ];
  for (const panel of panels) {
    const axis = logAxis(sizes.flatMap((s) => s.rows.filter((r) => keys.includes(r.key)).map(panel.value)));
    const range = Math.log10(axis.hi) - Math.log10(axis.lo);
    const y = (v: number) => panel.top + plot.height - ((Math.log10(v) - Math.log10(axis.lo)) / range) * plot.height;
    out.push(`<text x="${plot.left}" y="${panel.top - 8}" font-weight="bold">${escape(panel.title)}</text>`);
    for (const v of axis.ticks) {
      out.push(
        `<line x1="${plot.left}" y1="${y(v).toFixed(1)}" x2="${plot.left + plot.width}" y2="${y(v).toFixed(1)}" stroke="#dddddd"/>`,
        `<text x="${plot.left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${fmt(v)}</text>`,
      );
    }
    for (const n of xs) {
      out.push(
        `<line x1="${x(n).toFixed(1)}" y1="${panel.top}" x2="${x(n).toFixed(1)}" y2="${panel.top + plot.height}" stroke="#eeeeee"/>`,
        `<text x="${x(n).toFixed(1)}" y="${panel.top + plot.height + 16}" text-anchor="middle">${escape(n.toLocaleString('en-US'))}</text>`,
      );
    }
    out.push(`<rect x="${plot.left}" y="${panel.top}" width="${plot.width}" height="${plot.height}" fill="none" stroke="#333333"/>`);
    keys.forEach((key, i) => {
      const color = COLORS[i % COLORS.length] as string;
      const points = sizes
        .map((s) => ({ users: s.users, row: s.rows.find((r) => r.key === key) }))
        .filter((p): p is { users: number; row: CurvePoint } => p.row !== undefined && panel.value(p.row) > 0 && Number.isFinite(panel.value(p.row)))
        .map((p) => `${x(p.users).toFixed(1)},${y(panel.value(p.row)).toFixed(1)}`);
      const dash = key.startsWith('B') ? ' stroke-dasharray="5,4"' : '';
      out.push(`<polyline data-key="${escape(key)}" points="${points.join(' ')}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
      for (const point of points) {
        const [cx, cy] = point.split(',');
        out.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${color}"/>`);
      }
    });
  }
  out.push(`<text x="${plot.left + plot.width / 2}" y="${height - 10}" text-anchor="middle">users seeded (log scale)</text>`);
  const legendX = plot.left + plot.width + 30;
  keys.forEach((key, i) => {
    const color = COLORS[i % COLORS.length] as string;
    const label = labelOf(sizes, key);
    const short = label.length > 44 ? `${label.slice(0, 43)}…` : label;
    const ly = 60 + i * 22;
    out.push(
      `<line x1="${legendX}" y1="${ly - 4}" x2="${legendX + 22}" y2="${ly - 4}" stroke="${color}" stroke-width="2"${key.startsWith('B') ? ' stroke-dasharray="5,4"' : ''}/>`,
      `<text x="${legendX + 28}" y="${ly}"><tspan font-weight="bold">${escape(key)}</tspan> ${escape(short)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
