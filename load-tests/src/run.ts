/**
 * `runLoad(options)`: the controller. It plans rooms over engines (this thread or worker
 * threads), paces the run, samples the timeline every interval, scrapes the servers, settles
 * and checks convergence, closes every socket and returns the report. The run is bounded:
 * load stops at `durationS`, settling at `settleS`, and closing forces sockets shut.
 */
import { cpus as osCpus, loadavg } from 'node:os';
import { Histogram } from './histogram.ts';
import { addCounters, emptyCounters, nowMs, type Counters, type FinalHistograms } from './stats.ts';
import { localEngine, workerEngine, type EngineHandle } from './workers.ts';
import { Scraper } from './scrape.ts';
import { mergeSummaries, type ConvergenceSummary } from './convergence.ts';
import { FALLBACK_SKUS } from './behaviour.ts';
import { catalogSkus, chooseTarget, judgeCheckout, readStock, type StockRow } from './checkout.ts';
import { evaluateThresholds } from './thresholds.ts';
import { publicOptions, type LoadOptions } from './options.ts';
import type { EngineConfig, FinaliseResult, RoomSettlementView } from './engine.ts';
import type { CheckoutReport, LoadReport, TimelinePoint } from './report-types.ts';

export const VERSION = '0.1.0';

export interface Progress {
  elapsedS: number;
  totalS: number;
  phase: 'ramp' | 'load' | 'checkout' | 'settle' | 'close';
  connections: number;
  target: number;
  point: TimelinePoint;
}

export interface RunHooks {
  onProgress?(p: Progress): void;
  /** Ends the load early (Ctrl-C); the run still settles, closes and reports. */
  signal?: AbortSignal;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

interface CheckoutState {
  storeId: string;
  sku: string;
  stockBefore: StockRow | null;
  minAvailable: number | null;
  maxHeld: number | null;
  results: FinaliseResult[] | null;
  notes: string[];
}

export async function runLoad(o: LoadOptions, hooks: RunHooks = {}): Promise<LoadReport> {
  const startedAt = new Date();
  const loadStart = loadavg()[0] ?? 0;
  let checkout: CheckoutState | null = null;
  let skus =
    o.scenario === 'idle' ? FALLBACK_SKUS : ((await catalogSkus(o.settlementUrl)) ?? FALLBACK_SKUS);
  if (o.scenario === 'checkout') {
    const t = await chooseTarget(o.settlementUrl, o.store, o.sku);
    checkout = {
      storeId: t.storeId,
      sku: t.sku,
      stockBefore: t.stock,
      minAvailable: t.stock.available,
      maxHeld: t.stock.held,
      results: null,
      notes: [],
    };
    if (!skus.includes(t.sku)) skus = [t.sku, ...skus];
  }

  const workers = Math.max(1, Math.min(o.workers, o.rooms));
  const parts: number[][] = Array.from({ length: workers }, () => []);
  for (let i = 0; i < o.rooms; i++) parts[i % workers]!.push(i);
  const engines: EngineHandle[] = parts.map((roomIndices) => {
    const config: EngineConfig = {
      urls: o.urls,
      secret: o.secret,
      tokenUrl: o.tokenUrl,
      members: o.members,
      rate: o.rate,
      presence: o.presence,
      churn: o.churn,
      ramp: o.ramp / workers,
      seed: o.seed,
      scenario: o.scenario,
      spread: o.spread,
      roomPrefix: o.roomPrefix,
      sourceAddresses: o.sourceAddresses,
      skus,
      checkout: checkout ? { storeId: checkout.storeId, sku: checkout.sku, qty: o.qty } : null,
      roomIndices,
    };
    return workers === 1 ? localEngine(config) : workerEngine(config);
  });

  const target = o.rooms * o.members;
  const scraper =
    o.scrape || o.pids.length
      ? new Scraper(o.scrape ? o.urls : [], o.scrapeIntervalS * 1000, o.pids)
      : null;
  const totals: Counters = emptyCounters();
  const timeline: TimelinePoint[] = [];
  const errorSamples: string[] = [];
  let peak = 0;
  let open = 0;
  const elus: number[] = [];
  const loopP99s: number[] = [];
  let loopMax = 0;
  const cpus: number[] = [];
  /** Latency of the intervals after the ramp: what the system does once every member is in. */
  const steady = new Histogram();

  try {
    // Worker threads take a moment to load; t0 comes after every engine is ready, so the ramp
    // does not start with a burst of "overdue" connections.
    await Promise.all(engines.map((e) => e.prepare()));
    scraper?.start();
    const t0 = nowMs() + 20;
    await Promise.all(engines.map((e) => e.start(t0)));
    let cpuPrev = process.cpuUsage();
    let wallPrev = nowMs();

    /** Pulls one interval from every engine into the totals and the timeline. */
    const sample = async (phase: Progress['phase']): Promise<TimelinePoint> => {
      const deltas = await Promise.all(engines.map((e) => e.tick()));
      const now = nowMs();
      const cpuNow = process.cpuUsage();
      const cpu =
        ((cpuNow.user - cpuPrev.user + cpuNow.system - cpuPrev.system) / 1000 / (now - wallPrev)) *
        100;
      const secs = (now - wallPrev) / 1000;
      cpuPrev = cpuNow;
      wallPrev = now;
      const interval = new Histogram();
      const c = emptyCounters();
      open = 0;
      let elu = 0;
      let lp99 = 0;
      for (const d of deltas) {
        addCounters(c, d.counters);
        interval.add(d.latency);
        open += d.open;
        elu = Math.max(elu, d.elu);
        lp99 = Math.max(lp99, d.loopP99);
        loopMax = Math.max(loopMax, d.loopMax);
        for (const s of d.errorSamples) if (errorSamples.length < 50) errorSamples.push(s);
      }
      addCounters(totals, c);
      peak = Math.max(peak, open);
      const edits = Object.values(c.edits).reduce((a, b) => a + b, 0);
      const s = interval.summary(1000);
      const point: TimelinePoint = {
        t: Math.round((now - t0) / 100) / 10,
        connections: open,
        editsPerSecond: round1(edits / secs),
        updatesPerSecond: round1(c.updates / secs),
        messagesPerSecond: round1(c.received / secs),
        p50: s.p50,
        p95: s.p95,
        p99: s.p99,
        max: s.max,
        cpu: round1(cpu),
        loopP99: round1(lp99),
        ...(scraper
          ? { serverCpu: scraper.cpuNow().map((v) => (v === null ? null : round1(v))) }
          : {}),
      };
      if (phase === 'load') steady.add(interval);
      if (phase === 'load' || phase === 'ramp' || phase === 'checkout') {
        timeline.push(point);
        elus.push(elu);
        loopP99s.push(lp99);
        cpus.push(cpu);
      }
      hooks.onProgress?.({
        elapsedS: (now - t0) / 1000,
        totalS: o.durationS,
        phase,
        connections: open,
        target,
        point,
      });
      return point;
    };

    // ---- load phase -----------------------------------------------------------------------
    const endAt = t0 + o.durationS * 1000;
    const intervalMs = o.intervalS * 1000;
    let next = t0 + intervalMs;
    let rampEndedAt: number | null = null;
    let finaliseAt = t0 + o.durationS * 500; // checkout: half-way through the run at the latest
    while (!hooks.signal?.aborted) {
      const now = nowMs();
      if (now >= endAt) break;
      await sleep(Math.max(0, Math.min(next, endAt) - now), hooks.signal);
      if (nowMs() < next && nowMs() < endAt) continue;
      // After a stall (a blocked loop), skip the missed intervals instead of sampling them
      // back to back: a 1 ms interval would turn into absurd per-second rates.
      next += intervalMs;
      while (next <= nowMs()) next += intervalMs;
      // The interval in which the ramp completes still counts as ramp: it had a connection storm.
      let phase: Progress['phase'] = 'load';
      if (rampEndedAt === null) {
        phase = 'ramp';
        if (open >= target || nowMs() - t0 >= (target / o.ramp) * 1000 + 1000)
          rampEndedAt = nowMs();
      }
      await sample(checkout ? 'checkout' : phase);
      if (checkout && !checkout.results) {
        const ready = await Promise.all(engines.map((e) => e.checkoutReady()));
        const allReady = ready.reduce((a, r) => a + r.ready, 0) >= o.rooms;
        if (allReady || nowMs() >= finaliseAt) {
          finaliseAt = nowMs();
          checkout.results = (
            await Promise.all(engines.map((e) => e.finaliseAll(checkout!.storeId)))
          ).flat();
          if (!allReady)
            checkout.notes.push('not every room was ready when the finalise wave went out');
        }
      }
      if (checkout?.results) await pollStock(o, checkout);
    }

    // ---- checkout: wait for holds to end after their TTL -----------------------------------
    let holdEndObserved = false;
    let views: RoomSettlementView[] = [];
    if (checkout?.results) {
      const waitUntil = Date.now() + o.holdWaitS * 1000;
      for (;;) {
        views = (await Promise.all(engines.map((e) => e.settlements()))).flat();
        const won = new Set(checkout.results.filter((r) => r.status === 202).map((r) => r.roomId));
        const live = views.filter((v) => won.has(v.roomId));
        const expiries = live.map((v) => (v.holdExpiresAt ? Date.parse(v.holdExpiresAt) : NaN));
        const latest = Math.max(0, ...expiries.filter((x) => !Number.isNaN(x)));
        const allEnded = live.every(
          (v) => v.status && ['expired', 'cancelled', 'completed'].includes(v.status),
        );
        if (allEnded && (live.length === 0 || Date.now() >= latest)) {
          holdEndObserved = true;
          break;
        }
        if (Date.now() >= waitUntil || hooks.signal?.aborted) {
          if (latest > waitUntil) {
            checkout.notes.push(
              `holds expire at ${new Date(latest).toISOString()}, after --hold-wait; start settlement with a short HOLD_TTL_SECONDS to see them end`,
            );
          }
          holdEndObserved = Date.now() >= latest && latest > 0;
          break;
        }
        await sleep(Math.min(1000, intervalMs), hooks.signal);
        await sample('checkout');
        await pollStock(o, checkout);
      }
    }

    // ---- settle, check, close -------------------------------------------------------------
    const loadEnded = nowMs();
    await Promise.all(engines.map((e) => e.stopLoad()));
    const convergence = mergeSummaries(
      await Promise.all(engines.map((e) => e.settle(o.settleS * 1000))),
    );
    await sample('settle');
    const hists = await Promise.all(engines.map((e) => e.close()));
    await sample('close');
    await scraper?.stop();

    const h = mergeHists(hists);
    let checkoutReport: CheckoutReport | undefined;
    if (checkout) {
      const stockAfter = await readStock(o.settlementUrl, checkout.storeId, checkout.sku).catch(
        () => null,
      );
      checkoutReport = judgeCheckout({
        storeId: checkout.storeId,
        sku: checkout.sku,
        qtyPerRoom: o.qty,
        stockBefore: checkout.stockBefore,
        stockAfter,
        minAvailableSeen: checkout.minAvailable,
        maxHeldSeen: checkout.maxHeld,
        results: checkout.results ?? [],
        views,
        finalise: h.finalise,
        holdEndObserved,
        notes: checkout.notes,
      });
    }
    const durationS = (loadEnded - t0) / 1000;
    return buildReport({
      o,
      startedAt,
      loadStart,
      durationS,
      workers,
      totals,
      peak,
      openAtEnd: open,
      hists: h,
      convergence,
      timeline,
      errorSamples,
      elus,
      loopP99s,
      loopMax,
      cpus,
      servers: scraper?.report() ?? [],
      checkout: checkoutReport,
      steady,
    });
  } finally {
    await Promise.all(engines.map((e) => e.dispose().catch(() => undefined)));
    await scraper?.stop().catch(() => undefined);
  }
}

async function pollStock(o: LoadOptions, c: CheckoutState): Promise<void> {
  const row = await readStock(o.settlementUrl, c.storeId, c.sku).catch(() => null);
  if (!row) return;
  c.minAvailable = Math.min(c.minAvailable ?? row.available, row.available);
  c.maxHeld = Math.max(c.maxHeld ?? row.held, row.held);
}

function mergeHists(parts: FinalHistograms[]): Record<keyof FinalHistograms, Histogram> {
  const keys: (keyof FinalHistograms)[] = ['all', 'same', 'cross', 'connect', 'sync', 'finalise'];
  const out = {} as Record<keyof FinalHistograms, Histogram>;
  for (const k of keys) {
    out[k] = new Histogram();
    for (const p of parts) out[k].add(p[k]);
  }
  return out;
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

interface BuildInput {
  o: LoadOptions;
  startedAt: Date;
  /** 1-minute load average when the run started (defaults to now's). */
  loadStart?: number;
  durationS: number;
  workers: number;
  totals: Counters;
  peak: number;
  openAtEnd: number;
  hists: Record<keyof FinalHistograms, Histogram>;
  convergence: ConvergenceSummary;
  timeline: TimelinePoint[];
  errorSamples: string[];
  elus: number[];
  loopP99s: number[];
  loopMax: number;
  cpus: number[];
  servers: LoadReport['servers'];
  checkout: CheckoutReport | undefined;
  steady?: Histogram;
}

/** Thresholds whose judgement says the generator, not the server, limited the run. */
export const SATURATION = { elu: 0.9, loopP99Ms: 50 };

export function buildReport(b: BuildInput): LoadReport {
  const { o, totals: t } = b;
  const edits = Object.values(t.edits).reduce((a, x) => a + x, 0);
  const secs = Math.max(0.001, b.durationS);
  const errorCount = Object.values(t.errors).reduce((a, x) => a + x, 0);
  const attempts = t.attempted + edits;
  const elu = { mean: round2(mean(b.elus)), max: round2(Math.max(0, ...b.elus)) };
  const loopP99 = round1(mean(b.loopP99s));
  const saturated = elu.mean >= SATURATION.elu || loopP99 >= SATURATION.loopP99Ms;
  const warnings: string[] = [];
  if (saturated) {
    warnings.push(
      `the generator was saturated (event loop busy ${Math.round(elu.mean * 100)}%, delay p99 ${loopP99} ms): ` +
        "latencies include the generator's own delay; add --workers or run the generator on another machine",
    );
  }
  const cores = osCpus().length;
  const host = {
    cpus: cores,
    model: osCpus()[0]?.model.trim() ?? 'unknown',
    node: process.version,
    loadAverage: {
      start: round2(b.loadStart ?? loadavg()[0] ?? 0),
      end: round2(loadavg()[0] ?? 0),
    },
  };
  if (host.loadAverage.start > cores) {
    warnings.push(
      `the machine was already busy when the run started (load average ${host.loadAverage.start} on ${cores} cores): ` +
        'other work competed with the generator and any local server; compare runs only under the same conditions',
    );
  }
  const report: LoadReport = {
    tool: 'patungan-load',
    version: VERSION,
    scenario: o.scenario,
    startedAt: b.startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    plannedDurationS: o.durationS,
    durationS: round1(b.durationS),
    options: publicOptions(o),
    generator: {
      workers: b.workers,
      sourceAddresses: o.sourceAddresses,
      cpuPercent: { mean: round1(mean(b.cpus)), max: round1(Math.max(0, ...b.cpus)) },
      eventLoopDelayMs: { p99: loopP99, max: round1(b.loopMax) },
      eventLoopUtilisation: elu,
      saturated,
      warnings,
      host,
    },
    connections: {
      target: o.rooms * o.members,
      attempted: t.attempted,
      opened: t.opened,
      failed: t.failed,
      peak: b.peak,
      openAtEnd: b.openAtEnd,
      reconnects: t.reconnects,
      unexpectedCloses: t.unexpectedCloses,
      refusedWrites: t.refusedWrites,
      connect: b.hists.connect.summary(1000),
      sync: b.hists.sync.summary(1000),
    },
    edits: { sent: edits, perSecond: round1(edits / secs), byKind: t.edits },
    messages: {
      received: t.received,
      updates: t.updates,
      awareness: t.awareness,
      presenceSent: t.presenceSent,
      perSecond: round1(t.received / secs),
      updatesPerSecond: round1(t.updates / secs),
    },
    latency: {
      all: b.hists.all.summary(1000),
      same: b.hists.same.summary(1000),
      cross: b.hists.cross.summary(1000),
      steady: (b.steady ?? new Histogram()).summary(1000),
    },
    histograms: {
      all: b.hists.all.toJSON(),
      same: b.hists.same.toJSON(),
      cross: b.hists.cross.toJSON(),
    },
    convergence: {
      rooms: b.convergence.rooms,
      checked: b.convergence.checked,
      converged: b.convergence.converged,
      unreached: b.convergence.unreached,
      membersMissing: b.convergence.membersMissing,
      percent: b.convergence.checked
        ? Math.round((b.convergence.converged / b.convergence.checked) * 10000) / 100
        : null,
      settleMs: b.convergence.settleMs,
      diverged: b.convergence.diverged,
    },
    errors: {
      count: errorCount,
      rate: attempts ? errorCount / attempts : 0,
      byKind: t.errors,
      samples: b.errorSamples,
    },
    servers: b.servers,
    timeline: b.timeline,
    ...(b.checkout ? { checkout: b.checkout } : {}),
    thresholds: [],
    passed: true,
  };
  report.thresholds = evaluateThresholds(o.thresholds, report);
  report.passed = report.thresholds.every((r) => r.ok);
  return report;
}

const round2 = (x: number) => Math.round(x * 100) / 100;
