/** What every flow needs, built once by startSettlement / startWorker and passed down. */
import type { Clock } from './clock.ts';
import type { Db } from '@patungan/db';
import type { Logger } from './log.ts';
import type { Metrics } from './metrics.ts';
import type { PaymentProvider, ProviderName } from './providers/provider.ts';

/**
 * Named points where a test can crash the process (docs/settlement.md "Crash safety"):
 * - `after_hold`: the hold and payment rows are committed, no provider call made yet;
 * - `after_capture`: a provider capture succeeded, its result is not recorded yet.
 */
export type FaultPoint = 'after_hold' | 'after_capture';

export interface Ctx {
  db: Db;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  providers: Partial<Record<ProviderName, PaymentProvider>>;
  /** Base of pay links, e.g. http://127.0.0.1:4000 */
  publicUrl: string;
  holdTtlMs: number;
  /** How long a capture may run past the hold's expiry before the group is compensated. */
  captureGraceMs: number;
  /**
   * How long a process may hold a provider call before another may take it over (a dead
   * process's lease lapses after this). Longer than any provider call's timeout.
   */
  leaseMs: number;
  /** This process, for leases. */
  instanceId: string;
  fault(point: FaultPoint): Promise<void>;
  /** Asks the worker and dispatcher (if running here) to run now rather than at their next tick. */
  kick(): void;
}
