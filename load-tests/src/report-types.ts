/** The shape of the JSON report (`--json`), which the HTML report and thresholds read too. */
import type { HistogramJson, LatencySummary } from './histogram.ts';

export type Scenario = 'shopping' | 'checkout' | 'idle';
export type EditKind = 'add' | 'qty' | 'remove' | 'comment' | 'vote' | 'split';

/** One second (or `--interval`) of the run. Latencies in ms, rates per second. */
export interface TimelinePoint {
  /** Seconds since the start. */
  t: number;
  connections: number;
  editsPerSecond: number;
  updatesPerSecond: number;
  messagesPerSecond: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
  /** Generator CPU, % of one core (all threads). */
  cpu: number;
  /** Worst generator thread's event-loop delay p99 in this interval (ms). */
  loopP99: number;
  /** Server CPU % per scraped URL, when /metrics has process_cpu_seconds_total. */
  serverCpu?: (number | null)[];
}

export interface ServerReport {
  url: string;
  metricsUrl: string;
  scrapes: number;
  failures: number;
  lastError?: string;
  /** Mean CPU % of one core over the run (from process_cpu_seconds_total). */
  cpuPercent: number | null;
  maxCpuPercent: number | null;
  /** Peak resident memory (process_resident_memory_bytes) in MiB. */
  rssMiB: number | null;
  /** Worst event-loop lag p99 the server reported (`*event_loop_lag_seconds{quantile="0.99"}`). */
  eventLoopLagP99Ms: number | null;
  /** Every sample of the last scrape (name{labels} → value), for the reader. */
  last: Record<string, number>;
}

export interface RoomDivergence {
  room: string;
  reason: string;
}

export interface CheckoutReport {
  storeId: string;
  sku: string;
  qtyPerRoom: number;
  stockBefore: { onHand: number; held: number; committed: number; available: number } | null;
  finalises: number;
  holdsWon: number;
  holdsRefused: number;
  finaliseErrors: number;
  /** Units held beyond what the store had available; must be 0. */
  oversell: number;
  /** Lowest `available` seen while polling the store's stock (negative means oversold). */
  minAvailableSeen: number | null;
  finaliseToStatus: LatencySummary;
  /** Won holds that the room saw end (expired / cancelled / completed) and stock gave back. */
  holdsEnded: number;
  holdsEndedPercent: number | null;
  /** Whether the run waited long enough to see holds end (false: TTL longer than the run). */
  holdEndObserved: boolean;
  stockAfter: { onHand: number; held: number; committed: number; available: number } | null;
  notes: string[];
}

export interface LoadReport {
  tool: 'patungan-load';
  version: string;
  scenario: Scenario;
  startedAt: string;
  finishedAt: string;
  /** Planned and actual seconds of load (ramp included, settle excluded). */
  plannedDurationS: number;
  durationS: number;
  options: Record<string, unknown>;
  generator: {
    workers: number;
    sourceAddresses: string[];
    cpuPercent: { mean: number; max: number };
    eventLoopDelayMs: { p99: number; max: number };
    /** Event-loop utilisation of the busiest thread, 0–1. */
    eventLoopUtilisation: { mean: number; max: number };
    saturated: boolean;
    warnings: string[];
    /** The machine the generator ran on; a load average above the core count means contention. */
    host: {
      cpus: number;
      model: string;
      node: string;
      loadAverage: { start: number; end: number };
    };
  };
  connections: {
    target: number;
    attempted: number;
    opened: number;
    failed: number;
    peak: number;
    openAtEnd: number;
    reconnects: number;
    unexpectedCloses: number;
    refusedWrites: number;
    connect: LatencySummary;
    sync: LatencySummary;
  };
  edits: { sent: number; perSecond: number; byKind: Record<EditKind, number> };
  messages: {
    received: number;
    updates: number;
    awareness: number;
    presenceSent: number;
    perSecond: number;
    updatesPerSecond: number;
  };
  /**
   * Propagation latency (ms): all receivers, same / cross instance, and `steady` — only the
   * intervals after the ramp, when every member is connected and no connection storm skews it.
   */
  latency: {
    all: LatencySummary;
    same: LatencySummary;
    cross: LatencySummary;
    steady: LatencySummary;
  };
  /** Raw histograms (µs) so runs can be merged or re-analysed. */
  histograms: { all: HistogramJson; same: HistogramJson; cross: HistogramJson };
  convergence: {
    rooms: number;
    checked: number;
    converged: number;
    /** Of the rooms not converged: those with no member connected at the end (not served). */
    unreached: number;
    /** Members that were not connected at the end, over all rooms. */
    membersMissing: number;
    percent: number | null;
    settleMs: number;
    diverged: RoomDivergence[];
  };
  errors: { count: number; rate: number; byKind: Record<string, number>; samples: string[] };
  servers: ServerReport[];
  timeline: TimelinePoint[];
  checkout?: CheckoutReport;
  thresholds: { expr: string; ok: boolean; actual: number | null; message: string }[];
  passed: boolean;
}
