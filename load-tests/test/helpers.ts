/** Builds reports from synthetic numbers, for tests of thresholds and report rendering. */
import { Histogram } from '../src/histogram.ts';
import { buildReport } from '../src/run.ts';
import { parseOptions } from '../src/options.ts';
import { emptyCounters } from '../src/stats.ts';
import type { LoadReport } from '../src/report-types.ts';

export interface SyntheticRun {
  args?: string[];
  /** Latency samples in ms. */
  latencies?: number[];
  crossLatencies?: number[];
  edits?: number;
  errors?: number;
  attempted?: number;
  converged?: number;
  checked?: number;
  elu?: number;
  loadStart?: number;
}

export function syntheticReport(s: SyntheticRun = {}): LoadReport {
  const { options } = parseOptions(
    ['--secret', 'test-secret', '--room-prefix', 'syn', ...(s.args ?? [])],
    {},
  );
  const hist = (ms: number[]) => {
    const h = new Histogram();
    for (const v of ms) h.record(Math.round(v * 1000));
    return h;
  };
  const same = hist(s.latencies ?? [1, 2, 3, 4, 50]);
  const cross = hist(s.crossLatencies ?? []);
  const all = new Histogram().add(same).add(cross);
  const totals = emptyCounters();
  totals.attempted = s.attempted ?? 50;
  totals.opened = totals.attempted;
  totals.edits.comment = s.edits ?? 100;
  totals.updates = (s.edits ?? 100) * 4;
  totals.received = totals.updates * 2;
  if (s.errors) totals.errors.closed = s.errors;
  const checked = s.checked ?? 10;
  return buildReport({
    o: options,
    startedAt: new Date('2025-01-01T00:00:00Z'),
    loadStart: s.loadStart ?? 0,
    durationS: 10,
    workers: 1,
    totals,
    peak: 50,
    openAtEnd: 50,
    hists: {
      all,
      same,
      cross,
      connect: hist([1, 2]),
      sync: hist([2, 3]),
      finalise: new Histogram(),
    },
    convergence: {
      rooms: checked,
      checked,
      converged: s.converged ?? checked,
      membersMissing: 0,
      unreached: 0,
      diverged: [],
      settleMs: 120,
    },
    timeline: Array.from({ length: 10 }, (_, i) => ({
      t: i + 1,
      connections: 50,
      editsPerSecond: 10,
      updatesPerSecond: 40,
      messagesPerSecond: 80,
      p50: 2,
      p95: 4,
      p99: i === 5 ? null : 5 + i,
      max: 50,
      cpu: 30,
      loopP99: 1,
      serverCpu: [20],
    })),
    errorSamples: s.errors ? ['closed: m1: server closed the socket (1006)'] : [],
    elus: [s.elu ?? 0.2],
    loopP99s: [1],
    loopMax: 3,
    cpus: [30],
    servers: [],
    checkout: undefined,
    steady: same,
  });
}
