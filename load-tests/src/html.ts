/**
 * The self-contained HTML report: summary tables and inline SVG line charts (latency over
 * time, throughput, connections, CPU). No script, no external asset, so the file can be
 * attached to a CI run or mailed and still open anywhere.
 */
import type { LatencySummary } from './histogram.ts';
import type { LoadReport, TimelinePoint } from './report-types.ts';

export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

export interface Series {
  name: string;
  color: string;
  values: (number | null)[];
}

const W = 760;
const H = 220;
const PAD = { l: 56, r: 12, t: 14, b: 30 };

/** A "nice" upper bound for an axis: 1, 2 or 5 × 10^k. */
export function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const e = 10 ** Math.floor(Math.log10(v));
  const m = v / e;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * e;
}

const num = (v: number) => (Math.round(v * 100) / 100).toString();

/** One SVG line chart over the timeline's seconds; gaps (null) break the line. */
export function lineChart(title: string, unit: string, xs: number[], series: Series[]): string {
  const all = series
    .flatMap((s) => s.values)
    .filter((v): v is number => v !== null && Number.isFinite(v));
  const yMax = niceMax(Math.max(0, ...all));
  const xMax = Math.max(1, ...xs);
  const iw = W - PAD.l - PAD.r;
  const ih = H - PAD.t - PAD.b;
  const x = (t: number) => PAD.l + (t / xMax) * iw;
  const y = (v: number) => PAD.t + ih - (v / yMax) * ih;
  const parts: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    parts.push(
      `<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${num(y(v))}" y2="${num(y(v))}" stroke="#e4e4e7"/>`,
      `<text x="${PAD.l - 6}" y="${num(y(v) + 4)}" text-anchor="end">${num(v)}</text>`,
    );
  }
  for (let i = 0; i <= 5; i++) {
    const t = (xMax * i) / 5;
    parts.push(`<text x="${num(x(t))}" y="${H - 10}" text-anchor="middle">${num(t)}s</text>`);
  }
  for (const s of series) {
    let d = '';
    let pen = false;
    s.values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v) || xs[i] === undefined) {
        pen = false;
        return;
      }
      d += `${pen ? 'L' : 'M'}${num(x(xs[i]!))},${num(y(v))}`;
      pen = true;
    });
    if (d) parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.6"/>`);
  }
  const legend = series
    .map(
      (s) => `<span class="key"><i style="background:${s.color}"></i>${escapeHtml(s.name)}</span>`,
    )
    .join(' ');
  return (
    `<figure><figcaption>${escapeHtml(title)} <small>(${escapeHtml(unit)})</small> ${legend}</figcaption>` +
    `<svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="${escapeHtml(title)}">` +
    `<rect x="${PAD.l}" y="${PAD.t}" width="${iw}" height="${ih}" fill="none" stroke="#a1a1aa"/>` +
    parts.join('') +
    '</svg></figure>'
  );
}

function kv(rows: [string, string | number | null | undefined][]): string {
  return (
    '<table>' +
    rows
      .map(
        ([k, v]) =>
          `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v === null || v === undefined ? '–' : String(v))}</td></tr>`,
      )
      .join('') +
    '</table>'
  );
}

function latencyTable(rows: [string, LatencySummary][]): string {
  const cell = (v: number | null) => (v === null ? '–' : String(v));
  return (
    '<table><tr><th></th><th>count</th><th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>p99.9</th><th>max</th></tr>' +
    rows
      .map(
        ([name, s]) =>
          `<tr><th>${escapeHtml(name)}</th><td>${s.count}</td><td>${cell(s.p50)}</td><td>${cell(s.p90)}</td>` +
          `<td>${cell(s.p95)}</td><td>${cell(s.p99)}</td><td>${cell(s.p999)}</td><td>${cell(s.max)}</td></tr>`,
      )
      .join('') +
    '</table>'
  );
}

const COLORS = ['#2563eb', '#16a34a', '#ea580c', '#dc2626', '#7c3aed', '#0891b2'];

export function renderHtml(r: LoadReport): string {
  const tl: TimelinePoint[] = r.timeline;
  const xs = tl.map((p) => p.t);
  const servers = r.servers.map((s) => s.url);
  const charts = [
    lineChart('Propagation latency over time', 'ms', xs, [
      { name: 'p50', color: COLORS[1]!, values: tl.map((p) => p.p50) },
      { name: 'p95', color: COLORS[0]!, values: tl.map((p) => p.p95) },
      { name: 'p99', color: COLORS[2]!, values: tl.map((p) => p.p99) },
      { name: 'max', color: COLORS[3]!, values: tl.map((p) => p.max) },
    ]),
    lineChart('Throughput', 'per second', xs, [
      { name: 'edits sent', color: COLORS[0]!, values: tl.map((p) => p.editsPerSecond) },
      { name: 'updates delivered', color: COLORS[1]!, values: tl.map((p) => p.updatesPerSecond) },
      { name: 'messages delivered', color: COLORS[4]!, values: tl.map((p) => p.messagesPerSecond) },
    ]),
    lineChart('Open connections', 'count', xs, [
      { name: 'connections', color: COLORS[0]!, values: tl.map((p) => p.connections) },
    ]),
    lineChart('CPU', '% of one core', xs, [
      { name: 'generator', color: COLORS[4]!, values: tl.map((p) => p.cpu) },
      ...servers.map((u, i) => ({
        name: `server ${u}`,
        color: COLORS[(i + 1) % COLORS.length]!,
        values: tl.map((p) => p.serverCpu?.[i] ?? null),
      })),
    ]),
    lineChart('Generator event-loop delay p99', 'ms', xs, [
      { name: 'worst thread', color: COLORS[3]!, values: tl.map((p) => p.loopP99) },
    ]),
  ];
  const c = r.connections;
  const co = r.checkout;
  const status = r.passed ? '<b class="ok">PASSED</b>' : '<b class="bad">FAILED</b>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>patungan-load ${escapeHtml(r.scenario)} ${escapeHtml(r.startedAt)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:820px;color:#18181b;padding:0 12px}
h1{font-size:20px}h2{font-size:16px;margin-top:28px;border-bottom:1px solid #e4e4e7}
table{border-collapse:collapse;margin:6px 0}th,td{padding:2px 10px;text-align:right;border-bottom:1px solid #f4f4f5}
th:first-child{text-align:left;font-weight:500}figure{margin:14px 0}figcaption{font-weight:600;margin-bottom:4px}
svg text{font-size:10px;fill:#52525b}.key{font-weight:400;font-size:12px;margin-left:10px}
.key i{display:inline-block;width:10px;height:3px;margin-right:4px;vertical-align:middle}
.ok{color:#16a34a}.bad{color:#dc2626}.warn{color:#b45309}code{background:#f4f4f5;padding:1px 4px}
</style></head><body>
<h1>patungan-load: ${escapeHtml(r.scenario)} ${status}</h1>
<p>${escapeHtml(String(r.options.rooms))} rooms × ${escapeHtml(String(r.options.members))} members,
${escapeHtml((r.options.urls as string[]).join(', '))}, ${r.durationS}s from ${escapeHtml(r.startedAt)}.</p>
${r.generator.warnings.map((w) => `<p class="warn">⚠ ${escapeHtml(w)}</p>`).join('')}
${
  r.thresholds.length
    ? `<h2>Thresholds</h2><ul>${r.thresholds
        .map((t) => `<li class="${t.ok ? 'ok' : 'bad'}">${escapeHtml(t.message)}</li>`)
        .join('')}</ul>`
    : ''
}
<h2>Latency (ms)</h2>
${latencyTable([
  ['propagation, all', r.latency.all],
  ['same instance', r.latency.same],
  ['cross instance', r.latency.cross],
  ['after the ramp', r.latency.steady],
  ['connect (handshake)', c.connect],
  ['connect → synced', c.sync],
  ...(co ? ([['finalise → status', co.finaliseToStatus]] as [string, LatencySummary][]) : []),
])}
${charts.join('\n')}
<h2>Connections and throughput</h2>
${kv([
  ['target / peak / open at end', `${c.target} / ${c.peak} / ${c.openAtEnd}`],
  ['attempted / opened / failed', `${c.attempted} / ${c.opened} / ${c.failed}`],
  ['reconnects / unexpected closes', `${c.reconnects} / ${c.unexpectedCloses}`],
  ['refused writes', c.refusedWrites],
  ['edits sent', `${r.edits.sent} (${r.edits.perSecond}/s)`],
  ['updates delivered', `${r.messages.updates} (${r.messages.updatesPerSecond}/s)`],
  ['messages delivered', `${r.messages.received} (${r.messages.perSecond}/s)`],
  ['errors', `${r.errors.count} (${Math.round(r.errors.rate * 10000) / 100}%)`],
])}
<h2>Convergence</h2>
${kv([
  [
    'rooms converged',
    `${r.convergence.converged} / ${r.convergence.checked} (${r.convergence.percent ?? '–'}%)`,
  ],
  ['settled in', `${r.convergence.settleMs} ms`],
  ...r.convergence.diverged.slice(0, 20).map((d) => [d.room, d.reason] as [string, string]),
])}
${
  co
    ? `<h2>Checkout</h2>${kv([
        ['store / sku / per room', `${co.storeId} / ${co.sku} / ${co.qtyPerRoom}`],
        ['available before', co.stockBefore?.available],
        [
          'finalises / won / refused / errors',
          `${co.finalises} / ${co.holdsWon} / ${co.holdsRefused} / ${co.finaliseErrors}`,
        ],
        ['oversell (must be 0)', co.oversell],
        [
          'holds ended after TTL',
          co.holdEndObserved ? `${co.holdsEnded} / ${co.holdsWon}` : 'not observed',
        ],
        ...co.notes.map((n) => ['note', n] as [string, string]),
      ])}`
    : ''
}
<h2>Generator</h2>
${kv([
  ['workers', r.generator.workers],
  ['source addresses', r.generator.sourceAddresses.join(', ') || 'OS default'],
  [
    'CPU % of one core (mean / max)',
    `${r.generator.cpuPercent.mean} / ${r.generator.cpuPercent.max}`,
  ],
  [
    'event loop busy (mean / max)',
    `${r.generator.eventLoopUtilisation.mean} / ${r.generator.eventLoopUtilisation.max}`,
  ],
  [
    'event-loop delay ms (p99 / max)',
    `${r.generator.eventLoopDelayMs.p99} / ${r.generator.eventLoopDelayMs.max}`,
  ],
  [
    'host',
    `${r.generator.host.cpus} × ${r.generator.host.model}, Node ${r.generator.host.node}, ` +
      `load average ${r.generator.host.loadAverage.start} → ${r.generator.host.loadAverage.end}`,
  ],
])}
${
  r.servers.length
    ? `<h2>Servers</h2>${kv(
        r.servers.map((s) => [
          s.url,
          `${s.scrapes} scrapes, cpu ${s.cpuPercent ?? '–'}% (max ${s.maxCpuPercent ?? '–'}%), rss ${s.rssMiB ?? '–'} MiB, event-loop lag p99 ${s.eventLoopLagP99Ms ?? '–'} ms`,
        ]),
      )}`
    : ''
}
<h2>Options</h2>
<pre>${escapeHtml(JSON.stringify(r.options, null, 2))}</pre>
</body></html>
`;
}
