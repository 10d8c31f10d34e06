import { setFlagsFromString, getHeapStatistics } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect, test } from 'vitest';
import { startIdleGc } from '../src/idle-gc.ts';

// V8's real collector, as `--expose-gc` gives it to `npm start`'s process.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Allocates and drops ~`mb` MB: garbage the heap keeps room for until a full collection. */
function garbage(mb: number): void {
  let keep: unknown[] = [];
  for (let i = 0; i < mb * 8; i++) {
    keep.push(Array.from({ length: 4096 }, (_, j) => ({ j })));
    if (keep.length > 16) keep = keep.slice(8);
  }
}

test('a busy server is not collected, whatever its slack', async () => {
  const idle = startIdleGc({ intervalMs: 100, slackBytes: 1024 * 1024, gc });
  try {
    // every interval mostly spent working, and garbage enough for slack
    const busyUntil = performance.now() + 600;
    while (performance.now() < busyUntil) {
      garbage(4);
      const end = performance.now() + 40;
      while (performance.now() < end);
      await sleep(5);
    }
    expect(idle.runs).toBe(0);
  } finally {
    idle.stop();
  }
});

test('an idle server gives back its grown young generation and its unused heap, once', async () => {
  const runs: { before: number; after: number }[] = [];
  // V8 shrinks the young generation at a full collection only after ~5 s of low allocation:
  // a young-generation collection after two quiet intervals, the full one 5.5 s later
  garbage(48);
  const idle = startIdleGc({
    intervalMs: 500,
    gc,
    collected: (_ms, before, after) => runs.push({ before, after }),
  });
  try {
    const h = getHeapStatistics();
    expect(h.total_heap_size - h.used_heap_size).toBeGreaterThan(8 * 1024 * 1024);
    await sleep(7500);
    expect(idle.runs).toBe(1);
    expect(runs[0]!.before - runs[0]!.after).toBeGreaterThan(8 * 1024 * 1024);
    expect(getHeapStatistics().total_heap_size).toBeLessThan(h.total_heap_size - 8 * 1024 * 1024);
  } finally {
    idle.stop();
  }
});
