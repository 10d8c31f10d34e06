/**
 * Engines in this thread or in worker threads, behind one async interface. When one core is
 * not enough for the members (the generator's event loop saturates long before the server
 * does), the controller spreads rooms over worker threads; each runs its own {@link Engine}.
 */
import { Worker } from 'node:worker_threads';
import {
  Engine,
  type EngineConfig,
  type FinaliseResult,
  type RoomSettlementView,
} from './engine.ts';
import type { ConvergenceSummary } from './convergence.ts';
import type { FinalHistograms, StatsDelta } from './stats.ts';

export interface EngineHandle {
  /** Resolves once the engine is running and has everything it needs to start (tokens). */
  prepare(): Promise<void>;
  start(t0: number): Promise<void>;
  tick(): Promise<StatsDelta>;
  stopLoad(): Promise<void>;
  settle(timeoutMs: number): Promise<ConvergenceSummary>;
  close(): Promise<FinalHistograms>;
  checkoutReady(): Promise<{ ready: number; rooms: number }>;
  finaliseAll(storeId: string): Promise<FinaliseResult[]>;
  settlements(): Promise<RoomSettlementView[]>;
  /** Frees the thread (idempotent). */
  dispose(): Promise<void>;
}

export function localEngine(config: EngineConfig): EngineHandle {
  const e = new Engine(config);
  return {
    prepare: () => e.prepare(),
    start: async (t0) => e.start(t0),
    tick: async () => e.tick(),
    stopLoad: async () => e.stopLoad(),
    settle: (ms) => e.settle(ms),
    close: () => e.close(),
    checkoutReady: async () => e.checkoutReady(),
    finaliseAll: (storeId) => e.finaliseAll(storeId),
    settlements: async () => e.settlements(),
    dispose: async () => e.dispose(),
  };
}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };

export function workerEngine(config: EngineConfig): EngineHandle {
  const worker = new Worker(new URL('./worker-entry.mjs', import.meta.url), { workerData: config });
  let seq = 0;
  const pending = new Map<number, Pending>();
  let dead: Error | null = null;
  const fail = (err: Error) => {
    dead = err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  worker.on('message', (msg: { id: number; result?: unknown; error?: string }) => {
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.error !== undefined) p.reject(new Error(msg.error));
    else p.resolve(msg.result);
  });
  worker.on('error', (err) => fail(err));
  worker.on('exit', (code) => fail(new Error(`load worker exited (${code})`)));
  const call = <T>(method: string, ...args: unknown[]): Promise<T> => {
    if (dead) return Promise.reject(dead);
    const id = ++seq;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ id, method, args });
    });
  };
  return {
    prepare: () => call('prepare'),
    start: (t0) => call('start', t0),
    tick: () => call('tick'),
    stopLoad: () => call('stopLoad'),
    settle: (ms) => call('settle', ms),
    close: () => call('close'),
    checkoutReady: () => call('checkoutReady'),
    finaliseAll: (storeId) => call('finaliseAll', storeId),
    settlements: () => call('settlements'),
    dispose: async () => {
      if (!dead) await worker.terminate();
    },
  };
}
