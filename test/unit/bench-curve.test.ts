/**
 * The cost curve of `npm run bench -- --sizes …` (bench/curve.ts): the 1.3x verdict of
 * #16 item 3 and the plot the bench writes as docs/benchmarks-curve.svg.
 */
import { curveMarkdown, curveSvg, curveVerdict, logAxis, type CurvePoint, type CurveSize } from '../../bench/curve';

const point = (key: string, rate: number, p99: number, label = `scenario ${key}`): CurvePoint => ({
  key,
  label,
  unit: 'req/s',
  rate,
  p99,
  problems: [],
  errors: 0,
  non2xx: 0,
});

const size = (users: number, rows: CurvePoint[]): CurveSize => ({
  users,
  rows,
  seedSeconds: users / 40_000,
  databaseBytes: users * 1_000,
  loadAverage: { start: [1, 1, 1], end: [2, 2, 2] },
});

const sizes = [
  size(100_000, [point('B1', 3_500, 6), point('1', 2_800, 9), point('3', 500, 30), point('7a', 400, 40)]),
  size(1_000_000, [point('B1', 3_400, 6), point('1', 2_700, 9), point('3', 480, 32), point('7a', 390, 43)]),
  size(10_000_000, [point('B1', 3_300, 7), point('1', 2_500, 10), point('3', 300, 60), point('7a', 380, 45, 'deep <page> & "more"')]),
];

describe('the cost curve', () => {
  it('judges the mean time per request at the largest size against the smallest, within 1.3x', () => {
    expect(curveVerdict(sizes, '1')).toMatchObject({ verdict: 'PASS', timeRatio: 2_800 / 2_500 });
    expect(curveVerdict(sizes, '3')).toMatchObject({ verdict: 'FAIL', timeRatio: 500 / 300, p99Ratio: 2 });
    expect(curveVerdict(sizes, '4').verdict).toBe('not run');
  });

  it('fails a size whose run had errors, whatever its rate', () => {
    const broken = sizes.map((s, i) => (i === 2 ? { ...s, rows: s.rows.map((r) => (r.key === '1' ? { ...r, errors: 3 } : r)) } : s));
    expect(curveVerdict(broken, '1').verdict).toBe('FAIL');
  });

  it('shows every size side by side with the seed time and the database size', () => {
    const text = curveMarkdown(sizes);
    expect(text).toContain('| 1 | scenario 1 | 2,800 req/s, 9 | 2,700 req/s, 9 | 2,500 req/s, 10 | PASS 1.12x, p99 1.11x |');
    expect(text).toContain('| 3 | scenario 3 | 500 req/s, 30 | 480 req/s, 32 | 300 req/s, 60 | **FAIL** 1.67x, p99 2.00x |');
    expect(text).toContain('| 10,000,000 | 250.0 s | 9.31 GiB |');
  });

  it('draws one line per plotted row in each panel, on a log axis of users', () => {
    const svg = curveSvg(sizes);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    // Two panels (requests/s, p99) of four lines each.
    const lines = [...svg.matchAll(/<polyline data-key="([^"]+)" points="([^"]+)"/g)];
    expect(lines.map((m) => m[1])).toEqual(['B1', '1', '3', '7a', 'B1', '1', '3', '7a']);
    // 100,000, 1,000,000 and 10,000,000 are evenly spaced: the x axis is logarithmic.
    const xs = (lines[0]?.[2] ?? '').split(' ').map((p) => Number(p.split(',')[0]));
    expect(xs).toHaveLength(3);
    expect(xs[1]! - xs[0]!).toBeCloseTo(xs[2]! - xs[1]!, 0);
    // Labels are escaped: the SVG stays well-formed whatever a scenario's label holds.
    expect(svg).toContain('deep &lt;page&gt; &amp; &quot;more&quot;');
    expect(svg).not.toMatch(/<page>/);
  });

  it('spans whole powers of ten on its log y axes, ticked at 1, 2 and 5', () => {
    expect(logAxis([300, 3_500])).toEqual({ lo: 100, hi: 10_000, ticks: [100, 200, 500, 1_000, 2_000, 5_000, 10_000] });
    expect(logAxis([0, 7])).toEqual({ lo: 1, hi: 10, ticks: [1, 2, 5, 10] });
  });
});
