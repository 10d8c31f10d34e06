import { describe, expect, it } from 'vitest';
import { formatProgress, formatReport } from '../src/report.ts';
import { escapeHtml, lineChart, niceMax, renderHtml } from '../src/html.ts';
import { parsePrometheus, metricsUrlOf, procSamples } from '../src/scrape.ts';
import { judgeCheckout } from '../src/checkout.ts';
import { Histogram } from '../src/histogram.ts';
import { syntheticReport } from './helpers.ts';

describe('report generation', () => {
  it('builds consistent numbers from the run totals', () => {
    const r = syntheticReport({ latencies: [1, 2, 3], crossLatencies: [10, 20], edits: 100 });
    expect(r.latency.all.count).toBe(5);
    expect(r.latency.same.count).toBe(3);
    expect(r.latency.cross.count).toBe(2);
    expect(r.latency.all.max).toBe(20);
    expect(r.edits.perSecond).toBe(10);
    expect(r.messages.updatesPerSecond).toBe(40);
    expect(r.convergence.percent).toBe(100);
    expect(r.options.secret).toBe('(set)');
    expect(JSON.stringify(r)).not.toContain('test-secret');
    expect(r.histograms.all.count).toBe(5);
  });

  it('records the host and warns when the machine was already busy', () => {
    const r = syntheticReport();
    expect(r.generator.host.cpus).toBeGreaterThan(0);
    expect(r.generator.host.node).toBe(process.version);
    const busy = syntheticReport({ loadStart: 1000 });
    expect(busy.generator.warnings.join()).toMatch(/already busy .*load average 1000/);
    expect(formatReport(busy)).toMatch(/host .* load average 1000 →/);
  });

  it('flags a saturated generator', () => {
    expect(syntheticReport({ elu: 0.2 }).generator.saturated).toBe(false);
    const busy = syntheticReport({ elu: 0.97 });
    expect(busy.generator.saturated).toBe(true);
    expect(busy.generator.warnings[0]).toMatch(/generator was saturated/);
  });

  it('prints a terminal table with every section and the verdict', () => {
    const text = formatReport(
      syntheticReport({
        errors: 2,
        args: ['--threshold', 'p99<1', '--rooms', '10', '--members', '5'],
      }),
    );
    for (const s of [
      'Connections',
      'Latency (ms)',
      'Throughput',
      'Convergence',
      'Generator',
      'Errors: 2',
    ]) {
      expect(text).toContain(s);
    }
    expect(text).toContain('10 rooms × 5 members');
    expect(text).toMatch(/✗ p99<1: MISSED/);
    expect(text.trim().endsWith('FAILED: a threshold was missed')).toBe(true);
    expect(formatReport(syntheticReport()).trim().endsWith('PASSED')).toBe(true);
  });

  it('renders a self-contained HTML report with inline SVG charts', () => {
    const html = renderHtml(syntheticReport({ args: ['--threshold', 'p99<100'] }));
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('PASSED');
    expect((html.match(/<svg /g) ?? []).length).toBeGreaterThanOrEqual(4);
    expect(html).toContain('Propagation latency over time');
    expect(html).toContain('Throughput');
    // no external assets: nothing to fetch when the file is opened offline
    expect(html).not.toMatch(/<script|<link|src="http/);
    // a gap in the series (p99 null at one point) breaks the line into two segments
    expect(html).toMatch(/<path d="M[^"]*M[^"]*" fill="none" stroke="#ea580c"/);
  });

  it('escapes text from the outside world', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe(
      '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;',
    );
    const chart = lineChart('<b>t</b>', 'ms', [1], [{ name: '<i>', color: '#000', values: [1] }]);
    expect(chart).not.toContain('<b>');
    expect(chart).not.toContain('<i>');
  });

  it('picks readable axis maxima', () => {
    expect(niceMax(0)).toBe(1);
    expect(niceMax(7)).toBe(10);
    expect(niceMax(0.13)).toBeCloseTo(0.2);
    expect(niceMax(420)).toBe(500);
  });

  it('formats the live progress line', () => {
    const r = syntheticReport();
    const line = formatProgress({
      elapsedS: 12.3,
      totalS: 30,
      phase: 'load',
      connections: 48,
      target: 50,
      point: r.timeline[0]!,
    });
    expect(line).toMatch(
      /\[ {2}12s\/30s load {4}\] conns 48\/50 {2}edits\/s 10 {2}upd\/s 40 {2}p99 5ms/,
    );
    expect(line).toContain('srv cpu 20%');
  });
});

describe('Prometheus scraping', () => {
  it('parses samples with labels and skips comments and junk', () => {
    const m = parsePrometheus(
      [
        '# HELP process_cpu_seconds_total Total user and system CPU time',
        '# TYPE process_cpu_seconds_total counter',
        'process_cpu_seconds_total 12.5',
        'room_connections{instance="a b"} 42',
        'http_duration_bucket{le="+Inf"} 7 1700000000',
        'broken line',
        'nan_metric NaN',
      ].join('\n'),
    );
    expect(m.get('process_cpu_seconds_total')).toBe(12.5);
    expect(m.get('room_connections{instance="a b"}')).toBe(42);
    expect(m.get('http_duration_bucket{le="+Inf"}')).toBe(7);
    expect(m.has('nan_metric')).toBe(false);
    expect(m.size).toBe(3);
  });

  it('samples a local process tree from /proc', () => {
    let x = 0;
    for (let i = 0; i < 2e6; i++) x += Math.sqrt(i); // burn a little CPU so it is non-zero
    const m = procSamples(process.pid);
    expect(x).toBeGreaterThan(0);
    expect(m?.get('process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(m?.get('process_resident_memory_bytes')).toBeGreaterThan(1024 * 1024);
    expect(procSamples(2 ** 30)).toBeNull();
  });

  it('derives the metrics URL from a WebSocket URL', () => {
    expect(metricsUrlOf('ws://127.0.0.1:1234')).toBe('http://127.0.0.1:1234/metrics');
    expect(metricsUrlOf('wss://rooms.example.com/base')).toBe('https://rooms.example.com/metrics');
  });
});

describe('checkout judgement', () => {
  const base = {
    storeId: 'st1',
    sku: 'teh',
    qtyPerRoom: 1,
    stockBefore: { sku: 'teh', onHand: 5, held: 0, committed: 0, available: 5 },
    stockAfter: { sku: 'teh', onHand: 5, held: 0, committed: 0, available: 5 },
    minAvailableSeen: 0,
    maxHeldSeen: 5,
    finalise: new Histogram(),
    holdEndObserved: true,
    notes: [],
  };
  const results = (won: number, refused: number) => [
    ...Array.from({ length: won }, (_, i) => ({
      roomId: `r${i}`,
      status: 202,
      settlementId: `s${i}`,
      code: null,
      ms: 5,
    })),
    ...Array.from({ length: refused }, (_, i) => ({
      roomId: `x${i}`,
      status: 409,
      settlementId: null,
      code: 'insufficient_stock',
      ms: 5,
    })),
  ];
  const views = (n: number, status: string) =>
    Array.from({ length: n }, (_, i) => ({
      roomId: `r${i}`,
      id: `s${i}`,
      status,
      holdExpiresAt: null,
      roomStatus: 'open',
      lastError: null,
    }));

  it('counts won and refused holds, no oversell, every hold ended', () => {
    const r = judgeCheckout({ ...base, results: results(5, 15), views: views(5, 'expired') });
    expect(r).toMatchObject({
      holdsWon: 5,
      holdsRefused: 15,
      oversell: 0,
      holdsEnded: 5,
      holdsEndedPercent: 100,
    });
  });

  it('reports oversell when more rooms won than stock allowed, or stock went negative', () => {
    expect(judgeCheckout({ ...base, results: results(7, 0), views: [] }).oversell).toBe(2);
    expect(
      judgeCheckout({ ...base, minAvailableSeen: -3, results: results(5, 0), views: [] }).oversell,
    ).toBe(3);
  });

  it('reports holds that did not end', () => {
    const r = judgeCheckout({
      ...base,
      stockAfter: { ...base.stockAfter, held: 2, available: 3 },
      results: results(4, 0),
      views: [...views(2, 'expired'), ...views(4, 'awaiting_payment').slice(2)],
    });
    expect(r.holdsEnded).toBe(2);
    expect(r.holdsEndedPercent).toBe(50);
    expect(r.notes.join()).toMatch(/still shows units held/);
  });
});
