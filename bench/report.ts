import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { curveMarkdown, curveSvg, CURVE_LIMIT } from './curve';
import { standardUserLimit } from './database';
import { rosterNodeFlags } from './processes';
import { STORM_BULKS, STORM_OPERATIONS, SYNC_CONCURRENCY } from './scenarios';
import type { Row } from './scenarios';

export interface Machine {
  cpu: string;
  cpus: number;
  memoryGb: number;
  node: string;
  postgres: string;
  os: string;
  loadAverage: number[];
  commit: string;
}

export function machine(postgres: string, commit: string): Machine {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cpus: cpus.length,
    memoryGb: os.totalmem() / 1024 ** 3,
    node: process.version,
    postgres,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAverage: os.loadavg(),
    commit,
  };
}

export interface Target {
  name: string;
  verdict: 'PASS' | 'FAIL' | 'not run';
  detail: string;
}

const mb = (bytes: number) => bytes / 1024 / 1024;
const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '–');

export function ratioOf(row: Row, rows: Row[], baselineKey = row.baselineKey): number | undefined {
  if (!baselineKey) return undefined;
  const base = rows.find((r) => r.key === baselineKey);
  return base && base.rate > 0 ? row.rate / base.rate : undefined;
}

/** "79%", or for a row with a second baseline "79% of B1, 60% of B1h". */
function ratioText(row: Row, rows: Row[]): string {
  const first = ratioOf(row, rows);
  const second = row.secondBaselineKey ? ratioOf(row, rows, row.secondBaselineKey) : undefined;
  if (second === undefined) return first === undefined ? '' : `${fmt(first * 100)}%`;
  return `${first === undefined ? '–' : `${fmt(first * 100)}% of ${row.baselineKey}`}, ${fmt(second * 100)}% of ${row.secondBaselineKey}`;
}

export function targets(rows: Row[], peakRss: number | undefined): Target[] {
  const out: Target[] = [];
  const by = (key: string) => rows.find((r) => r.key === key);
  const verdict = (ok: boolean): Target['verdict'] => (ok ? 'PASS' : 'FAIL');
  // A run in which no request completed has no latency to judge (its p99 reads 0).
  const clean = (row: Row) => row.rate > 0 && row.problems.length === 0 && row.errors === 0 && row.non2xx === 0;
  const dirty = (row: Row) =>
    clean(row) ? '' : row.rate > 0 ? ' (the run had errors or wrong answers: see the table)' : ' (no request completed within the run)';

  const s1 = by('1');
  const ratio1 = s1 ? ratioOf(s1, rows) : undefined;
  out.push(
    s1 && ratio1 !== undefined
      ? {
          name: 'Scenario 1 ≥ 50% of the baseline req/s and p99 < 25 ms',
          verdict: verdict(ratio1 >= 0.5 && s1.p99 < 25 && clean(s1)),
          detail: `${fmt(ratio1 * 100)}% of baseline (${fmt(s1.rate)} vs ${fmt(by(s1.baselineKey as string)?.rate ?? NaN)} req/s), p99 ${s1.p99} ms${dirty(s1)}${
            s1.secondBaselineKey
              ? `; ${fmt((ratioOf(s1, rows, s1.secondBaselineKey) ?? NaN) * 100)}% of bare node:http (${fmt(by(s1.secondBaselineKey)?.rate ?? NaN)} req/s)`
              : ''
          }`,
        }
      : { name: 'Scenario 1 ≥ 50% of the baseline req/s and p99 < 25 ms', verdict: 'not run', detail: '' },
  );

  // #16: scenario 1 within 90% of the bare Express baseline; creates and PATCHes at least half of a bare single statement.
  for (const [key, share, name] of [
    ['1', 0.9, 'Scenario 1 ≥ 90% of the bare Express baseline req/s (#16 item 2)'],
    ['3', 0.5, "Scenario 3 (POST /Users) ≥ 50% of the baseline's single INSERT req/s (#16 item 1)"],
    ['4', 0.5, "Scenario 4 (PATCH /Users) ≥ 50% of the baseline's single UPDATE req/s (#16 item 1)"],
  ] as const) {
    const row = by(key);
    const ratio = row ? ratioOf(row, rows) : undefined;
    out.push(
      row && ratio !== undefined
        ? {
            name,
            verdict: verdict(ratio >= share && clean(row)),
            detail: `${fmt(ratio * 100)}% (${fmt(row.rate)} vs ${fmt(by(row.baselineKey as string)?.rate ?? NaN)} req/s)${dirty(row)}`,
          }
        : { name, verdict: 'not run', detail: '' },
    );
  }

  for (const form of ['5a', '5b']) {
    const big = by(`${form}-big`);
    const small = by(`${form}-small`);
    const name = `Scenario ${form}: the 100,000-member group within 2x of the 10-member group (req/s)`;
    if (!big || !small) {
      out.push({ name, verdict: 'not run', detail: '' });
      continue;
    }
    const factor = small.rate / Math.max(big.rate, 1e-9);
    out.push({
      name,
      verdict: verdict(factor <= 2 && clean(big) && clean(small)),
      detail: `big ${fmt(big.rate)} req/s (p99 ${big.p99} ms), small ${fmt(small.rate)} req/s (p99 ${small.p99} ms): ${fmt(factor, 2)}x${dirty(big) || dirty(small)}`,
    });
  }

  for (const key of ['7a', '7b']) {
    const row = by(key);
    const name = `Scenario ${key} p99 < 50 ms`;
    out.push(row ? { name, verdict: verdict(row.p99 < 50 && clean(row)), detail: `p99 ${row.p99} ms${dirty(row)}` } : { name, verdict: 'not run', detail: '' });
  }

  const s8 = by('8');
  out.push(
    s8
      ? { name: 'Scenario 8 ≥ 300 users/s', verdict: verdict(s8.rate >= 300 && clean(s8)), detail: `${fmt(s8.rate)} users/s${dirty(s8)}` }
      : { name: 'Scenario 8 ≥ 300 users/s', verdict: 'not run', detail: '' },
  );

  // #17 item 8: the console's Users list answers in under 100 ms (at 1,000,000 users).
  const s11 = by('11a');
  const name11 = 'Scenario 11a (console Users list) p99 < 100 ms';
  out.push(
    s11
      ? { name: name11, verdict: verdict(s11.p99 < 100 && clean(s11)), detail: `p50 ${s11.p50} ms, p99 ${s11.p99} ms at ${fmt(s11.rate)} req/s${dirty(s11)}` }
      : { name: name11, verdict: 'not run', detail: '' },
  );

  const reads = by('9-read');
  const health = by('9-health');
  const stormName = 'Scenario 9: while another organization storms Bulk password changes, reads p99 < 100 ms and /readyz always 200';
  out.push(
    reads && health
      ? {
          name: stormName,
          verdict: verdict(reads.p99 < 100 && clean(reads) && clean(health)),
          detail: `reads p99 ${reads.p99} ms (${fmt(reads.rate)} req/s${dirty(reads)}); /readyz ${Object.entries(health.statusCounts)
            .map(([c, n]) => `${c}×${n}`)
            .join(', ')}, p99 ${health.p99} ms`,
        }
      : { name: stormName, verdict: 'not run', detail: '' },
  );

  for (const [key, kind] of [
    ['10a', 'a receiver of every event'],
    ['10b', 'a receiver of deactivates only'],
  ]) {
    const row = by(key as string);
    const name = `Scenario ${key}: time to deprovision p50 < 50 ms and p99 < 1 s (${kind})`;
    out.push(
      row
        ? {
            name,
            verdict: verdict(row.p50 < 50 && row.p99 < 1_000 && clean(row)),
            detail: `p50 ${row.p50} ms, p99 ${row.p99} ms (${row.extra ?? ''})${dirty(row)}`,
          }
        : { name, verdict: 'not run', detail: '' },
    );
  }

  out.push(
    peakRss !== undefined
      ? { name: 'Peak RSS of the server < 300 MB', verdict: verdict(mb(peakRss) < 300), detail: `${fmt(mb(peakRss))} MB (VmHWM over the whole run)` }
      : { name: 'Peak RSS of the server < 300 MB', verdict: 'not run', detail: '' },
  );
  return out;
}

/** The results as a Markdown table (also what stdout shows). */
export function table(rows: Row[]): string {
  const header = ['#', 'scenario', 'rate', 'p50 ms', 'p99 ms', 'non-2xx', 'errors', 'vs baseline', 'peak RSS MB', 'CPU cores server / pg / bench'];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map((h, i) => (i >= 2 && i <= 8 ? '---:' : '---')).join('|')}|`];
  for (const row of rows) {
    const notes = [row.extra, row.problems.length ? `**problems:** ${row.problems.join('; ')}` : undefined].filter(Boolean).join('; ');
    lines.push(
      `| ${row.key} | ${row.label.replace(/\|/g, '\\|')}${notes ? ` <br>_${notes.replace(/\|/g, '\\|')}_` : ''} | ${fmt(row.rate)} ${row.unit} | ${row.p50} | ${row.p99} | ${row.non2xx} | ${row.errors} | ${ratioText(row, rows)} | ${row.key.startsWith('B') ? '' : fmt(mb(row.peakRss))} | ${fmt(row.cpu.server, 2)} / ${fmt(row.cpu.postgres, 2)} / ${fmt(row.cpu.bench, 2)} |`,
    );
  }
  return lines.join('\n');
}

/** A plain-text table for the terminal. */
export function textTable(rows: Row[]): string {
  const header = ['#', 'req/s', 'p50', 'p99', 'non2xx', 'err', 'vs base', 'RSS MB', 'CPU s/pg/b', 'scenario'];
  const body = rows.map((row) => {
    return [
      row.key,
      `${fmt(row.rate)}${row.unit === 'users/s' ? ' u/s' : ''}`,
      String(row.p50),
      String(row.p99),
      String(row.non2xx),
      String(row.errors),
      ratioText(row, rows).replace(/ of /g, ' '),
      row.key.startsWith('B') ? '' : fmt(mb(row.peakRss)),
      `${fmt(row.cpu.server, 2)}/${fmt(row.cpu.postgres, 2)}/${fmt(row.cpu.bench, 2)}`,
      row.label + (row.extra ? ` [${row.extra}]` : '') + (row.problems.length ? ` PROBLEMS: ${row.problems.join('; ')}` : ''),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => (i === header.length - 1 ? 0 : (r[i] as string).length))));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  return [line(header), ...body.map(line)].join('\n');
}

/** One size of a run: its seed, its rows and the server's memory. */
export interface SizeResult {
  users: number;
  seeding: { step: string; seconds: number; rows: number }[] | 'reused';
  /** Wall time of the whole seed, from the first statement to the CHECKPOINT after VACUUM ANALYZE. */
  seedSeconds: number;
  /** pg_database_size after the seed. */
  databaseBytes: number;
  rows: Row[];
  peakRss: number | undefined;
  maxSampledRss: number;
  loadAverage: { start: number[]; end: number[] };
  profile?: string;
}

export interface Report {
  machine: Machine;
  date: Date;
  command: string;
  duration: number;
  connections: number;
  buildSeconds: number;
  /** One per size, ascending: one for a plain run, several for the cost curve (`--sizes`). */
  sizes: SizeResult[];
}

/** The sections `--write-doc` writes; every other `## ` section of the file is kept as written. */
const GENERATED = ['Last run', 'Cost curve', 'Results', 'Targets', 'CPU profile of the server'];
const OPTIMISATIONS_HEADING = '## What each optimisation bought';
export const CURVE_SVG = 'benchmarks-curve.svg';

/** The hand-written `## ` sections of the current file (the engineers' notes), in their order, kept across rewrites. */
export function keptSections(text: string): string {
  const parts = text.split(/^(?=## )/m).slice(1);
  const kept = parts
    .filter((part) => {
      const heading = (/^## (.*)$/m.exec(part)?.[1] ?? '').trim();
      return !GENERATED.some((g) => heading === g || heading.startsWith(`${g} (`));
    })
    .map((part) => part.trimEnd())
    .filter((part) => part !== '');
  if (!kept.some((part) => part.startsWith(OPTIMISATIONS_HEADING))) kept.push(`${OPTIMISATIONS_HEADING}\n\nNone yet.`);
  return `${kept.join('\n\n')}\n`;
}

const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
const count = (n: number) => n.toLocaleString('en-US');

function seedingText(size: SizeResult): string {
  if (size.seeding === 'reused') return 'The database already held this seed (`--database-url`), so nothing was seeded.';
  return [
    ...size.seeding.map((s) => `- ${s.step}: ${count(s.rows)} rows, ${s.seconds.toFixed(1)} s`),
    `- total: ${size.seedSeconds.toFixed(1)} s; the database on disk after it: ${gib(size.databaseBytes)} (\`pg_database_size\`)`,
  ].join('\n');
}

function resultsText(size: SizeResult): string {
  return `${table(size.rows)}

Peak RSS of the server: ${(size.peakRss !== undefined ? size.peakRss / 1024 / 1024 : NaN).toFixed(0)} MB (VmHWM), highest 500 ms sample ${(size.maxSampledRss / 1024 / 1024).toFixed(0)} MB; load average ${size.loadAverage.start.map((l) => l.toFixed(2)).join(' / ')} at the start of this size, ${size.loadAverage.end.map((l) => l.toFixed(2)).join(' / ')} at its end.`;
}

function targetsText(sizes: SizeResult[]): string {
  const lists = sizes.map((s) => targets(s.rows, s.peakRss));
  const verdict = (t: Target) => (t.verdict === 'FAIL' ? '**FAIL**' : t.verdict);
  if (sizes.length === 1) {
    return `| target | verdict | measured |
|---|---|---|
${(lists[0] ?? []).map((t) => `| ${t.name} | ${verdict(t)} | ${t.detail} |`).join('\n')}`;
  }
  const head = ['target', ...sizes.map((s) => `${count(s.users)} users`)];
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...(lists[0] ?? []).map(
      (t, i) => `| ${t.name} | ${lists.map((l) => `${verdict(l[i] as Target)}${l[i]?.detail ? `: ${l[i]?.detail}` : ''}`).join(' | ')} |`,
    ),
  ].join('\n');
}

export function markdown(report: Report, kept: string): string {
  const m = report.machine;
  const sizes = report.sizes;
  const many = sizes.length > 1;
  const users = sizes.map((s) => count(s.users));
  const largest = sizes[sizes.length - 1] as SizeResult;
  const profiles = sizes.filter((s) => s.profile);
  return `# Benchmarks

Produced by \`npm run bench\` (\`bench/run.ts\`). Rerun it after a change and compare;
\`--write-doc\` rewrites the sections it measures (Last run, Cost curve, Results, Targets) and
keeps every other section as written, "What each optimisation bought" among them.
\`npm run bench -- --sizes 100000,1000000,10000000 --write-doc\` runs the cost curve: a fresh
database per size, seeded, run and dropped in turn, then the sizes side by side and the plot
(\`docs/${CURVE_SVG}\`).

## Last run

- Date: ${report.date.toISOString()}
- Command: \`${report.command}\`
- Code: ${m.commit}
- Machine: ${m.cpu}, ${m.cpus} CPUs, ${m.memoryGb.toFixed(1)} GB memory, ${m.os}; load average at start ${m.loadAverage.map((l) => l.toFixed(2)).join(' / ')}
- Node ${m.node}; ${m.postgres}
- Load: ${report.connections} connections, ${report.duration} s per timed run, each after an untimed warm-up of ${Math.min(2, Math.max(1, Math.round(report.duration / 5)))} s
  with the same requests. Scenario 8 runs ${SYNC_CONCURRENCY} users at a time until all are created.
- Data: ${many ? `at each size (${users.join(', ')} users, a fresh database each)` : `${users[0]} users`}, 1,000 spare users in no group, 1,000 groups of 10 members,
  one group of ${many ? 'min(users, 100,000)' : count(Math.min(largest.users, 100_000))} members, one organization licensed for ${
    many ? `max(5,000,000, twice the users) standard users` : `${count(standardUserLimit(largest.users))} standard users`
  } (every create runs the license check), one token;
  for scenario 9, a second organization (\`bench-storm\`) of ${count(STORM_BULKS * STORM_OPERATIONS)} users with a token of its own.

Roster ran compiled (\`tsc -p tsconfig.build.json\` into \`bench/.build\`, ${report.buildSeconds.toFixed(0)} s), as
\`NODE_ENV=production node ${[...rosterNodeFlags(), ''].join(' ')}bench/.build/src/main.js\` (Roster's heap flags, as \`npm start\` runs it) with \`LOG_LEVEL=warn\` and the default pool of 10,
on the same machine as PostgreSQL and the load generator. The per-credential rate limit is switched
off for the run (\`ROSTER_RATE_LIMIT_PER_SECOND=0\`): at its default (100 requests/s, burst 200) most of
the load would be answered 429, and an initial sync through one token could not pass ~50 users/s. Scenario 9
starts a Roster of its own on the same database with every default limit, rate limit included, and stops it after.
The baselines (rows B…) run in their own processes, driven the same way, in the same run: a bare Express
handler with a \`pg\` pool of 10 (\`bench/baseline-server.ts\`) that answers each read with one indexed query,
a create (B3) with one \`INSERT\` of the row Roster stores for scenario 3's body (the table's triggers run as for
Roster's) and a PATCH (B4) with one \`UPDATE\` of \`active\` and the version; and for scenario 1 also bare
\`node:http\` with the same pool, query and response (B1h, \`bench/baseline-http.ts\`), which shows what Express costs.
The baseline's creates stay in the table, as scenario 3's do (their userNames sort after the seeded ones).

Seeding (bulk SQL in batches of 100,000 users, then \`VACUUM ANALYZE\` and a \`CHECKPOINT\`, so that no scenario runs beside the seed's checkpoint):

${many ? sizes.map((s) => `${count(s.users)} users:\n\n${seedingText(s)}`).join('\n\n') : seedingText(largest)}
${
  many
    ? `
## Cost curve

The same scenarios at ${users.join(', ')} users, one after the other on this host. #16 item 3: per-request
figures at the largest size within ${CURVE_LIMIT}x of those at the smallest for lookups (1), creates (3), PATCHes (4),
group member changes (5a, 5b) and deep pages (7a, 7b). The verdict reads the mean time per request (the
inverse of the rate at the same ${report.connections} connections); the p99 ratio is shown beside it (1 ms resolution).
Scenario 7a reads at startIndex 500,001, or users - 100 for a seed under 500,100 users.

${curveMarkdown(sizes)}

![requests/s and p99 against users](${CURVE_SVG})
`
    : ''
}
## Results

${many ? sizes.map((s) => `### ${count(s.users)} users\n\n${resultsText(s)}`).join('\n\n') : resultsText(largest)}

Rate is completed requests per second (scenario 8: users per second). Latencies are autocannon's
(1 ms resolution) or, for scenario 8, per user (lookup and POST). "CPU cores" is the average number of
cores busy during the timed run: the server under test (Roster, or the baseline in rows B…), every
\`postgres\` process, and the load generator. Peak RSS is Roster's, sampled every 500 ms during the run.

## Targets

${targetsText(sizes)}
${profiles.map((s) => `\n## CPU profile of the server${many ? ` (${count(s.users)} users)` : ''}\n\n\`\`\`\n${s.profile}\n\`\`\`\n`).join('')}
${kept}`;
}

/** Writes docs/benchmarks.md (and for a curve, docs/benchmarks-curve.svg); the files written. */
export function writeDoc(repoRoot: string, report: Report): string[] {
  const file = path.join(repoRoot, 'docs', 'benchmarks.md');
  const written: string[] = [];
  if (report.sizes.length > 1) {
    const svg = path.join(repoRoot, 'docs', CURVE_SVG);
    writeFileSync(svg, curveSvg(report.sizes));
    written.push(svg);
  }
  writeFileSync(file, markdown(report, keptSections(existsSync(file) ? readFileSync(file, 'utf8') : '')));
  written.push(file);
  return written;
}
