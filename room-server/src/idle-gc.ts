/**
 * Memory back when the server goes idle (decision 0023). `npm start` runs V8 with a young
 * generation that may grow to 16 MB semi-spaces, so that a server under edits scavenges
 * rarely and promotes little; but V8 keeps the grown young generation and the old
 * generation's slack while nothing allocates (its memory reducer waits for allocations that an
 * idle server does not make): ~30 MB at 19,500 idle connections. So, every `intervalMs`: when
 * the event loop was busy less than `idleUtilization` of that interval and the heap holds more
 * than `slackBytes` it does not use (and grew by as much since the last time), one full
 * garbage collection (`gc()`, which `npm start`
 * exposes with `--expose-gc`) shrinks the young generation back to 1 MB and compacts the rest.
 * Nothing happens without `--expose-gc` (tests, `tsx src/main.ts`) or while the server is busy.
 */
import { performance } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import type { EventLoopUtilization } from 'node:perf_hooks';

export interface IdleGcOptions {
  /** How often the loop's utilization is looked at (default 5 s). */
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
  /** The heap's size after the last collection. */
  let collectedTo = 0;
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const busy = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    if (busy >= idle) return;
    const h = getHeapStatistics();
    // slack now, and a heap that grew since the last collection (what a full collection
    // leaves unused, it would leave again)
    if (h.total_heap_size - h.used_heap_size < slack || h.total_heap_size < collectedTo + slack) {
      return;
    }
    const started = performance.now();
    gc();
    state.runs++;
    collectedTo = getHeapStatistics().total_heap_size;
    o.collected?.(performance.now() - started, h.total_heap_size, collectedTo);
    // the collection itself must not count as activity for the next look
    last = performance.eventLoopUtilization();
  }, o.intervalMs ?? 5000);
  timer.unref();
  state.stop = () => clearInterval(timer);
  return state;
}
