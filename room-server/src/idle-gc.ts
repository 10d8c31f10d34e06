/**
 * Memory back when the server goes idle (decision 0023). `npm start` runs V8 with a young
 * generation that may grow to 16 MB semi-spaces, so that a server under edits scavenges
 * rarely and promotes little; but V8 keeps the grown young generation and the old
 * generation's slack while nothing allocates (its memory reducer waits for allocations that an
 * idle server does not make): ~30 MB at 19,500 idle connections. So: when the event loop was
 * busy less than `idleUtilization` of two `intervalMs` in a row and the heap holds more than
 * `slackBytes` it does not use (and grew by as much since the last time), one full garbage
 * collection (`gc()`, which `npm start` exposes with `--expose-gc`); V8 then shrinks the young
 * generation back to 1 MB and compacts the rest. If that left slack (V8 had not yet seen the
 * allocations stop), once more an interval later. Nothing happens without `--expose-gc`
 * (tests, `tsx src/main.ts`) or while the server is busy.
 */
import { performance } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import type { EventLoopUtilization } from 'node:perf_hooks';

export interface IdleGcOptions {
  /** How often the loop's utilization is looked at (default 3 s; two idle ones in a row). */
  intervalMs?: number;
  /** Below this share of the interval busy, the server is idle (default 0.05). */
  idleUtilization?: number;
  /** Unused heap (committed minus used) that makes a collection worth it (default 8 MB). */
  slackBytes?: number;
  /** The collector (default `globalThis.gc`, present with `--expose-gc`). */
  gc?: (() => void) | undefined;
  /** Called after each collection, with its duration (logging). */
  collected?(ms: number, before: number, after: number): void;
}

export interface IdleGc {
  /** Collections run so far. */
  readonly runs: number;
  stop(): void;
}

/** Starts the idle collector; a no-op one when there is no `gc`. */
export function startIdleGc(o: IdleGcOptions = {}): IdleGc {
  const gc = o.gc ?? (globalThis as { gc?: () => void }).gc;
  const state = { runs: 0, stop: () => {} };
  if (!gc) return state;
  const idle = o.idleUtilization ?? 0.05;
  const slack = o.slackBytes ?? 8 * 1024 * 1024;
  let last: EventLoopUtilization = performance.eventLoopUtilization();
  /** Consecutive intervals the loop was idle. */
  let quiet = 0;
  /** The heap's size after the last collection that left little unused. */
  let collectedTo = 0;
  /** The last collection left slack (V8 had not seen the allocations stop): once more. */
  let retry = false;
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const busy = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    if (busy >= idle) {
      quiet = 0;
      return;
    }
    // Two quiet intervals: V8 shrinks the young generation only when its allocation rate over
    // the last ~5 s is low, as it measures it at collections.
    if (++quiet < 2) return;
    const h = getHeapStatistics();
    // slack now, and a heap that grew since the last collection (what a full collection
    // leaves unused, it would leave again)
    if (h.total_heap_size - h.used_heap_size < slack) return;
    if (!retry && h.total_heap_size < collectedTo + slack) return;
    const started = performance.now();
    gc();
    state.runs++;
    const after = getHeapStatistics();
    if (after.total_heap_size - after.used_heap_size >= slack && !retry) retry = true;
    else {
      retry = false;
      collectedTo = after.total_heap_size;
    }
    o.collected?.(performance.now() - started, h.total_heap_size, after.total_heap_size);
    // the collection itself must not count as activity for the next look
    last = performance.eventLoopUtilization();
  }, o.intervalMs ?? 3000);
  timer.unref();
  state.stop = () => clearInterval(timer);
  return state;
}
