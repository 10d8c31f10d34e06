/**
 * Memory back when the server goes idle (decision 0023). `npm start` runs V8 with a young
 * generation that may grow to 16 MB semi-spaces, so that a server under edits scavenges
 * rarely and promotes little; but V8 keeps the grown young generation and the old
 * generation's slack while nothing allocates (its memory reducer waits for allocations that an
 * idle server does not make): ~30 MB at 19,500 idle connections. So: when the process used
 * less than `idleUtilization` of a core in two `intervalMs` in a row and the heap holds more
 * than `slackBytes` it does not use (and grew by as much since the last time), a young-generation
 * collection, and if the server stays idle, a full one 5.5 s later (`gc()`, which `npm start`
 * exposes with `--expose-gc`): V8 then sees a low allocation rate, shrinks the young
 * generation back to 1 MB and compacts the rest. Nothing happens without `--expose-gc` (tests,
 * `tsx src/main.ts`) or while the server is busy.
 */
import { performance } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';

/** V8's `gc` (`--expose-gc`): a full collection, or `{ type: 'minor' }` a young-generation one. */
export type Collector = (options?: { type?: 'minor' | 'major' }) => void;

export interface IdleGcOptions {
  /** How often the loop's utilization is looked at (default 2 s; two idle ones in a row). */
  intervalMs?: number;
  /** Below this CPU time (all threads) per interval, the server is idle (default 5 %). */
  idleUtilization?: number;
  /** Unused heap (committed minus used) that makes a collection worth it (default 8 MB). */
  slackBytes?: number;
  /** The collector (default `globalThis.gc`, present with `--expose-gc`). */
  gc?: Collector | undefined;
  /** Called after each collection, with its duration (logging). */
  collected?(ms: number, before: number, after: number): void;
}

export interface IdleGc {
  /** Collections run so far. */
  readonly runs: number;
  stop(): void;
}

/**
 * V8 shrinks the young generation at a full collection when the allocation rate it measured
 * over the last ~5 s (from one collection to the next) is low: the full collection runs this
 * long after a young-generation one that closes the busy period's count.
 */
const RATE_WINDOW_MS = 5500;

/** Starts the idle collector; a no-op one when there is no `gc`. */
export function startIdleGc(o: IdleGcOptions = {}): IdleGc {
  const gc = o.gc ?? (globalThis as { gc?: Collector }).gc;
  const state = { runs: 0, stop: () => {} };
  if (!gc) return state;
  const idle = o.idleUtilization ?? 0.05;
  const slack = o.slackBytes ?? 8 * 1024 * 1024;
  // CPU time, not the event loop's utilization: that is wall-clock time, and on a machine
  // whose cores are busy with other processes an idle server's few callbacks, descheduled,
  // make it look busy.
  let lastCpu = process.cpuUsage();
  let lastAt = performance.now();
  const used = (): number => {
    const cpu = process.cpuUsage(lastCpu);
    const at = performance.now();
    const share = (cpu.user + cpu.system) / 1000 / Math.max(1, at - lastAt);
    lastCpu = process.cpuUsage();
    lastAt = at;
    return share;
  };
  /** Consecutive intervals the loop was idle. */
  let quiet = 0;
  /** When the young-generation collection of this idle period ran (0: not yet). */
  let primedAt = 0;
  /** The heap's size after the last full collection. */
  let collectedTo = 0;
  const timer = setInterval(() => {
    if (used() >= idle) {
      quiet = 0;
      primedAt = 0;
      return;
    }
    if (++quiet < 2) return;
    const h = getHeapStatistics();
    // slack now, and a heap that grew since the last collection (what a full collection
    // leaves unused, it would leave again)
    if (h.total_heap_size - h.used_heap_size < slack) return;
    if (h.total_heap_size < collectedTo + slack) return;
    const started = performance.now();
    if (primedAt === 0) {
      gc({ type: 'minor' });
      primedAt = started;
    } else if (started - primedAt >= RATE_WINDOW_MS) {
      gc();
      state.runs++;
      primedAt = 0;
      collectedTo = getHeapStatistics().total_heap_size;
      o.collected?.(performance.now() - started, h.total_heap_size, collectedTo);
    }
    // the collection itself must not count as activity for the next look
    used();
  }, o.intervalMs ?? 2000);
  timer.unref();
  state.stop = () => clearInterval(timer);
  return state;
}
