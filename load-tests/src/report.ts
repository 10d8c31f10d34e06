/** The terminal table and the progress line: what a person reads during and after a run. */
import type { LatencySummary } from './histogram.ts';
import type { LoadReport } from './report-types.ts';
import type { Progress } from './run.ts';

const fmt = (v: number | null | undefined, unit = '') =>
  v === null || v === undefined || Number.isNaN(v)
    ? '–'
    : `${v.toLocaleString('en-US', { maximumFractionDigits: 2 })}${unit}`;

function latencyRow(name: string, s: LatencySummary): string[] {
  return [name, fmt(s.count), fmt(s.p50), fmt(s.p95), fmt(s.p99), fmt(s.p999), fmt(s.max)];
}

/** Aligned columns; with a header, numbers right-aligned; without, a key/value list. */
function table(rows: string[][], header?: string[]): string {
  const all = header ? [header, ...rows] : rows;
  const widths = all[0]!.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === 0 || !header ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = all.map(line);
  if (header) out.splice(1, 0, widths.map((w) => '─'.repeat(w)).join('  '));
  return out.map((l) => '  ' + l).join('\n');
}

export function formatReport(r: LoadReport): string {
  const c = r.connections;
  const out: string[] = [];
  out.push(
    `patungan-load ${r.scenario}: ${r.options.rooms} rooms × ${r.options.members} members over ${
      (r.options.urls as string[]).length
    } URL(s), ${r.durationS}s (planned ${r.plannedDurationS}s)`,
  );
  out.push('');
  out.push('Connections');
  out.push(
    table([
      ['target / peak / open at end', `${fmt(c.target)} / ${fmt(c.peak)} / ${fmt(c.openAtEnd)}`],
      ['attempted / opened / failed', `${fmt(c.attempted)} / ${fmt(c.opened)} / ${fmt(c.failed)}`],
      ['reconnects / unexpected closes', `${fmt(c.reconnects)} / ${fmt(c.unexpectedCloses)}`],
      ['refused writes', fmt(c.refusedWrites)],
    ]),
  );
  out.push('');
  out.push('Latency (ms)');
  out.push(
    table(
      [
        latencyRow('propagation, all', r.latency.all),
        latencyRow('  same instance', r.latency.same),
        latencyRow('  cross instance', r.latency.cross),
        latencyRow('  after the ramp', r.latency.steady),
        latencyRow('connect (handshake)', c.connect),
        latencyRow('connect → synced', c.sync),
        ...(r.checkout ? [latencyRow('finalise → status', r.checkout.finaliseToStatus)] : []),
      ],
      ['', 'count', 'p50', 'p95', 'p99', 'p99.9', 'max'],
    ),
  );
  out.push('');
  out.push('Throughput');
  const k = r.edits.byKind;
  out.push(
    table([
      ['edits sent', `${fmt(r.edits.sent)} (${fmt(r.edits.perSecond)}/s)`],
      [
        '  by kind',
        `add ${k.add}, qty ${k.qty}, remove ${k.remove}, comment ${k.comment}, vote ${k.vote}, split ${k.split}`,
      ],
      ['updates delivered', `${fmt(r.messages.updates)} (${fmt(r.messages.updatesPerSecond)}/s)`],
      ['messages delivered', `${fmt(r.messages.received)} (${fmt(r.messages.perSecond)}/s)`],
      [
        'presence sent / received',
        `${fmt(r.messages.presenceSent)} / ${fmt(r.messages.awareness)}`,
      ],
    ]),
  );
  out.push('');
  out.push('Convergence');
  const cv = r.convergence;
  out.push(
    table([
      ['rooms converged', `${fmt(cv.converged)} / ${fmt(cv.checked)} (${fmt(cv.percent, '%')})`],
      ['settled in', `${fmt(cv.settleMs)} ms`],
      ...(cv.unreached || cv.membersMissing
        ? [
            [
              'not connected at the end',
              `${fmt(cv.unreached)} rooms, ${fmt(cv.membersMissing)} members`,
            ],
          ]
        : []),
      ...cv.diverged.slice(0, 5).map((d) => [`  ${d.room}`, d.reason]),
    ]),
  );
  if (r.checkout) {
    const co = r.checkout;
    out.push('');
    out.push(`Checkout (${co.sku} at ${co.storeId}, ${co.qtyPerRoom} per room)`);
    out.push(
      table([
        ['available before', fmt(co.stockBefore?.available)],
        [
          'finalises / won / refused / errors',
          `${co.finalises} / ${co.holdsWon} / ${co.holdsRefused} / ${co.finaliseErrors}`,
        ],
        ['oversell (must be 0)', fmt(co.oversell)],
        ['lowest available seen', fmt(co.minAvailableSeen)],
        [
          'holds ended after TTL',
          co.holdEndObserved
            ? `${co.holdsEnded} / ${co.holdsWon} (${fmt(co.holdsEndedPercent, '%')})`
            : 'not observed',
        ],
        ['held after', fmt(co.stockAfter?.held)],
        ...co.notes.map((n) => ['  note', n]),
      ]),
    );
  }
  out.push('');
  out.push('Generator (this tool)');
  const g = r.generator;
  out.push(
    table([
      ['workers / source addresses', `${g.workers} / ${g.sourceAddresses.length || 'OS default'}`],
      ['CPU (% of one core) mean / max', `${fmt(g.cpuPercent.mean)} / ${fmt(g.cpuPercent.max)}`],
      [
        'event loop busy mean / max',
        `${fmt(g.eventLoopUtilisation.mean * 100)}% / ${fmt(g.eventLoopUtilisation.max * 100)}%`,
      ],
      [
        'event loop delay p99 / max (ms)',
        `${fmt(g.eventLoopDelayMs.p99)} / ${fmt(g.eventLoopDelayMs.max)}`,
      ],
      [
        'host',
        `${g.host.cpus} × ${g.host.model}, Node ${g.host.node}, ` +
          `load average ${g.host.loadAverage.start} → ${g.host.loadAverage.end}`,
      ],
    ]),
  );
  for (const w of g.warnings) out.push(`  ! ${w}`);
  if (r.servers.length) {
    out.push('');
    out.push('Servers (/metrics)');
    out.push(
      table(
        r.servers.map((s) => [
          s.url,
          fmt(s.scrapes),
          fmt(s.cpuPercent),
          fmt(s.maxCpuPercent),
          fmt(s.rssMiB),
          fmt(s.eventLoopLagP99Ms),
          s.failures ? `${s.failures} failed${s.lastError ? ` (${s.lastError})` : ''}` : '',
        ]),
        ['', 'scrapes', 'cpu %', 'max cpu %', 'rss MiB', 'loop p99 ms', ''],
      ),
    );
  }
  if (r.errors.count) {
    out.push('');
    out.push(`Errors: ${r.errors.count} (${fmt(r.errors.rate * 100)}%)`);
    out.push(table(Object.entries(r.errors.byKind).map(([kk, v]) => [kk, fmt(v)])));
    for (const s of r.errors.samples.slice(0, 5)) out.push(`    ${s}`);
  }
  if (r.thresholds.length) {
    out.push('');
    out.push('Thresholds');
    for (const t of r.thresholds) out.push(`  ${t.ok ? '✓' : '✗'} ${t.message}`);
  }
  out.push('');
  out.push(r.passed ? 'PASSED' : 'FAILED: a threshold was missed');
  return out.join('\n');
}

export function formatProgress(p: Progress): string {
  const q = p.point;
  const srv = q.serverCpu?.length ? `  srv cpu ${q.serverCpu.map((v) => fmt(v)).join('/')}%` : '';
  return (
    `[${p.elapsedS.toFixed(0).padStart(4)}s/${p.totalS}s ${p.phase.padEnd(8)}] ` +
    `conns ${p.connections}/${p.target}  edits/s ${fmt(q.editsPerSecond)}  upd/s ${fmt(q.updatesPerSecond)}  ` +
    `p99 ${fmt(q.p99)}ms  gen cpu ${fmt(q.cpu)}% loop ${fmt(q.loopP99)}ms${srv}`
  );
}
