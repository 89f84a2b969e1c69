/**
 * The alert rules (deploy/prometheus/roster-alerts.yml) and the Grafana dashboard
 * (deploy/grafana/roster-dashboard.json) name only metrics Roster exports: the names
 * come from the registry of src/metrics.ts, as /metrics serves it. The rules file is
 * YAML written in its JSON form (JSON is YAML, and Prometheus reads it), so JSON.parse
 * reads it here without a YAML parser.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Metrics } from '../../src/metrics';

const ROOT = path.join(__dirname, '..', '..');
const read = (file: string): unknown => JSON.parse(fs.readFileSync(path.join(ROOT, file), 'utf8'));

/** Series Prometheus itself adds to every scrape target. */
const PROMETHEUS_SERIES = ['up'];

/** Function names and keywords of PromQL that may stand where a metric name could. */
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);

/** The metric names a PromQL expression selects. */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // string literals
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // range and subquery selectors
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // label lists
    .replace(/\b\d+(\.\d+)?(e[+-]?\d+)?\b/gi, ' '); // numbers
  const names: string[] = [];
  for (const match of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const after = stripped.slice((match.index ?? 0) + match[0].length);
    if (/^\s*\(/.test(after)) continue; // a function call
    if (KEYWORDS.has(match[0].toLowerCase())) continue;
    names.push(match[0]);
  }
  return names;
}

/** Every series name /metrics can serve: counters and gauges as named, histograms as _bucket, _sum and _count. */
async function exportedNames(): Promise<Set<string>> {
  const metrics = new Metrics();
  const names = new Set<string>(PROMETHEUS_SERIES);
  // prom-client's types say an enum; at run time the type is the text /metrics shows.
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    if (String(metric.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${metric.name}${suffix}`);
    else names.add(metric.name);
  }
  return names;
}

interface Rule {
  alert?: unknown;
  expr?: unknown;
  for?: unknown;
  labels?: { severity?: unknown };
  annotations?: { summary?: unknown };
}
interface Panel {
  id?: unknown;
  type?: unknown;
  title?: unknown;
  targets?: { expr?: unknown }[];
}

const rules = read('deploy/prometheus/roster-alerts.yml') as { groups: { name: string; rules: Rule[] }[] };
const dashboard = read('deploy/grafana/roster-dashboard.json') as {
  uid?: unknown;
  title?: unknown;
  panels?: Panel[];
  templating?: { list: { query?: unknown }[] };
};
const allRules = rules.groups.flatMap((g) => g.rules);
const panels = dashboard.panels ?? [];

describe('the metric name reader', () => {
  it('finds the metric names of an expression, not its functions, labels, ranges or numbers', () => {
    expect(metricNames('histogram_quantile(0.99, sum by (instance, le) (rate(roster_x_bucket{route=~"/a.*",le!="1"}[5m]))) > 1.5e+09 and on (job) up')).toEqual(
      ['roster_x_bucket', 'up'],
    );
    expect(metricNames('time() - max(roster_process_start_time_seconds{instance=~"$instance"})')).toEqual(['roster_process_start_time_seconds']);
  });

  it('knows what Roster exports, and nothing else', async () => {
    const names = await exportedNames();
    expect(names).toContain('roster_http_requests_total');
    expect(names).toContain('roster_http_request_duration_seconds_bucket');
    expect(names).toContain('roster_db_pool_pending');
    expect(names).toContain('roster_process_resident_memory_bytes');
    expect(names).not.toContain('roster_http_request_duration_seconds');
    expect(names).not.toContain('http_requests_total');
  });
});

describe('deploy/prometheus/roster-alerts.yml', () => {
  it('has groups of rules, each with a name', () => {
    expect(rules.groups.length).toBeGreaterThan(0);
    for (const group of rules.groups) {
      expect(typeof group.name).toBe('string');
      expect(group.rules.length).toBeGreaterThan(0);
    }
    expect(new Set(rules.groups.map((g) => g.name)).size).toBe(rules.groups.length);
  });

  it.each(allRules.map((r) => [String(r.alert), r] as const))('%s has alert, expr, for, labels.severity and annotations.summary', (_name, rule) => {
    expect(rule.alert).toMatch(/^Roster[A-Za-z]+$/);
    expect(typeof rule.expr).toBe('string');
    expect(rule.for).toMatch(/^\d+[smhdwy]$/);
    expect(['critical', 'warning', 'info']).toContain(rule.labels?.severity);
    expect(typeof rule.annotations?.summary).toBe('string');
    expect(String(rule.annotations?.summary).length).toBeGreaterThan(10);
  });

  it('names every alert once', () => {
    expect(new Set(allRules.map((r) => r.alert)).size).toBe(allRules.length);
  });

  it('selects only metrics Roster exports', async () => {
    const exported = await exportedNames();
    const unknown = allRules.flatMap((r) =>
      metricNames(String(r.expr))
        .filter((n) => !exported.has(n))
        .map((n) => `${String(r.alert)}: ${n}`),
    );
    expect(unknown).toEqual([]);
    expect(allRules.every((r) => metricNames(String(r.expr)).length > 0)).toBe(true);
  });
});

describe('deploy/grafana/roster-dashboard.json', () => {
  it('has a uid, a title and panels with unique ids', () => {
    expect(dashboard.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    expect(typeof dashboard.title).toBe('string');
    expect(panels.length).toBeGreaterThan(0);
    const ids = panels.map((p) => p.id);
    expect(ids.every((id) => Number.isInteger(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('gives every panel but rows a title and at least one query', () => {
    for (const panel of panels.filter((p) => p.type !== 'row')) {
      expect(typeof panel.title).toBe('string');
      expect(panel.targets?.length).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) expect(typeof target.expr).toBe('string');
    }
  });

  it('queries only metrics Roster exports, in its panels and its variables', async () => {
    const exported = await exportedNames();
    const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => [String(p.title), String(t.expr)] as const));
    const unknown = exprs.flatMap(([title, expr]) =>
      metricNames(expr)
        .filter((n) => !exported.has(n))
        .map((n) => `${title}: ${n}`),
    );
    expect(unknown).toEqual([]);
    for (const variable of dashboard.templating?.list ?? []) {
      const query = variable.query as { query?: string } | string | undefined;
      const text = typeof query === 'string' ? query : (query?.query ?? '');
      const labelValues = /^label_values\(([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,/.exec(text);
      if (labelValues) expect(exported).toContain(labelValues[1]);
    }
  });
});
