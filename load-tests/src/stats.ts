/**
 * What one engine (one thread) counts. The controller pulls a {@link StatsDelta} every
 * interval (counters since the last pull, plus that interval's latency histogram) and the
 * cumulative histograms once at the end; summing deltas from every thread gives the totals.
 */
import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import { Histogram, type HistogramJson } from './histogram.ts';
import type { EditKind } from './report-types.ts';

export const EDIT_KINDS: readonly EditKind[] = ['add', 'qty', 'remove', 'comment', 'vote', 'split'];

export interface Counters {
  attempted: number;
  opened: number;
  failed: number;
  reconnects: number;
  unexpectedCloses: number;
  refusedWrites: number;
  presenceSent: number;
  received: number;
  updates: number;
  awareness: number;
  edits: Record<EditKind, number>;
  errors: Record<string, number>;
}

export function emptyCounters(): Counters {
  return {
    attempted: 0,
    opened: 0,
    failed: 0,
    reconnects: 0,
    unexpectedCloses: 0,
    refusedWrites: 0,
    presenceSent: 0,
    received: 0,
    updates: 0,
    awareness: 0,
    edits: { add: 0, qty: 0, remove: 0, comment: 0, vote: 0, split: 0 },
    errors: {},
  };
}

export function addCounters(into: Counters, d: Counters): Counters {
  for (const k of Object.keys(into) as (keyof Counters)[]) {
    if (k === 'edits' || k === 'errors') continue;
    into[k] += d[k];
  }
  for (const k of EDIT_KINDS) into.edits[k] += d.edits[k];
  for (const [k, v] of Object.entries(d.errors)) into.errors[k] = (into.errors[k] ?? 0) + v;
  return into;
}

export interface StatsDelta {
  counters: Counters;
  /** Open connections right now (a gauge, not a delta). */
  open: number;
  /** Propagation latency of this interval, µs. */
  latency: HistogramJson;
  /** Event-loop delay p99 / max of this interval, ms. */
  loopP99: number;
  loopMax: number;
  /** Event-loop utilisation of this interval, 0–1. */
  elu: number;
  errorSamples: string[];
}

export interface FinalHistograms {
  all: HistogramJson;
  same: HistogramJson;
  cross: HistogramJson;
  connect: HistogramJson;
  sync: HistogramJson;
  finalise: HistogramJson;
}

/** Wall-clock milliseconds with sub-millisecond resolution. */
export const nowMs = (): number => performance.timeOrigin + performance.now();

const MAX_ERROR_SAMPLES = 20;
/**
 * The delay monitor samples with a timer of this period and records the whole period, so an
 * idle loop reads ≈ the resolution; we subtract it to report the delay itself.
 */
const LOOP_RESOLUTION_MS = 2;
const loopMs = (ns: number) => Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS);

export class Stats {
  counters = emptyCounters();
  open = 0;
  readonly all = new Histogram();
  readonly same = new Histogram();
  readonly cross = new Histogram();
  readonly connect = new Histogram();
  readonly sync = new Histogram();
  readonly finalise = new Histogram();
  private interval = new Histogram();
  private samples: string[] = [];
  private loop: IntervalHistogram;
  private elu = performance.eventLoopUtilization();

  constructor() {
    this.loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
    this.loop.enable();
  }

  /** A propagation sample in ms; `same` when sender and receiver use the same URL. */
  latency(ms: number, same: boolean): void {
    const us = Math.max(0, Math.round(ms * 1000));
    this.all.record(us);
    this.interval.record(us);
    (same ? this.same : this.cross).record(us);
  }

  error(kind: string, detail: string): void {
    this.counters.errors[kind] = (this.counters.errors[kind] ?? 0) + 1;
    if (this.samples.length < MAX_ERROR_SAMPLES) this.samples.push(`${kind}: ${detail}`);
  }

  take(): StatsDelta {
    const elu = performance.eventLoopUtilization(this.elu);
    this.elu = performance.eventLoopUtilization();
    const delta: StatsDelta = {
      counters: this.counters,
      open: this.open,
      latency: this.interval.toJSON(),
      loopP99: this.loop.count ? loopMs(this.loop.percentile(99)) : 0,
      loopMax: this.loop.count ? loopMs(this.loop.max) : 0,
      elu: elu.utilization,
      errorSamples: this.samples,
    };
    this.counters = emptyCounters();
    this.interval.reset();
    this.samples = [];
    this.loop.reset();
    return delta;
  }

  histograms(): FinalHistograms {
    return {
      all: this.all.toJSON(),
      same: this.same.toJSON(),
      cross: this.cross.toJSON(),
      connect: this.connect.toJSON(),
      sync: this.sync.toJSON(),
      finalise: this.finalise.toJSON(),
    };
  }

  dispose(): void {
    this.loop.disable();
  }
}
