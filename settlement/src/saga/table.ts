/**
 * The settlement saga in one table (docs/decisions/0009-settlement-saga-steps.md).
 *
 * A group payment is all or nothing, as a saga of undoable steps, one file each:
 *   hold-stock.ts  hold the lines at the store  ↔ release them
 *   authorise.ts   create the payment, the member authorises  ↔ void it
 *   capture.ts     capture the authorisation  ↔ refund it
 * The stock step belongs to the settlement; the payment steps to each payment attempt,
 * whose status says which step it is at and in which direction. This table is that mapping,
 * and the only place it is written down: the worker runs the step call of every status that
 * has `work` (flow/attempts.ts), and compensation (compensate.ts) moves every attempt to its
 * status's `undo`.
 */
import type { AttemptStatus } from '../flow/rows.ts';

export type AttemptStepName = 'authorise' | 'capture';
export type Direction = 'forward' | 'undo';

export interface SagaEntry {
  step: AttemptStepName;
  direction: Direction;
  /**
   * A provider call is due: the step's action (forward) or its undo. The worker claims
   * attempts in these statuses (under a lease) and makes the call.
   */
  work: boolean;
  /**
   * Where compensation moves an attempt in this status: the undo that takes back whatever
   * may have happened at the provider. Null: nothing to undo, or undoing already.
   */
  undo: AttemptStatus | null;
}

export const SAGA: Readonly<Record<AttemptStatus, SagaEntry>> = {
  // authorise, forward: created at the provider (work), then the member's answer
  creating: { step: 'authorise', direction: 'forward', work: true, undo: 'voiding' },
  pending: { step: 'authorise', direction: 'forward', work: false, undo: 'voiding' },
  authorized: { step: 'authorise', direction: 'forward', work: false, undo: 'voiding' },
  declined: { step: 'authorise', direction: 'forward', work: false, undo: 'voiding' },
  // capture, forward. A capture in flight is undone by a void: if the money had moved, the
  // provider answers "captured" and the state machine turns the void into a refund.
  capturing: { step: 'capture', direction: 'forward', work: true, undo: 'voiding' },
  captured: { step: 'capture', direction: 'forward', work: false, undo: 'refunding' },
  // the undos
  voiding: { step: 'authorise', direction: 'undo', work: true, undo: null },
  voided: { step: 'authorise', direction: 'undo', work: false, undo: null },
  refunding: { step: 'capture', direction: 'undo', work: true, undo: null },
  refunded: { step: 'capture', direction: 'undo', work: false, undo: null },
};

const STATUSES = Object.keys(SAGA) as AttemptStatus[];

/** Statuses in which the worker has a provider call to make. */
export const WORK_STATUSES: readonly AttemptStatus[] = STATUSES.filter((s) => SAGA[s].work);

/** Statuses compensation undoes (of one step, or of every step). */
export function undoable(step?: AttemptStepName): AttemptStatus[] {
  return STATUSES.filter((s) => SAGA[s].undo !== null && (!step || SAGA[s].step === step));
}

/**
 * Attempts of the local provider that compensation ends as `voided` at once instead of
 * `voiding`: nothing of theirs is in flight (no create or capture call under way) and the
 * local provider's void calls nobody and answers `voided`, so the worker's call would only
 * record what is already known — a transaction per attempt after a mass expiry.
 */
export const LOCAL_VOID_AT_ONCE: readonly AttemptStatus[] = ['pending', 'authorized', 'declined'];

// The statuses are constants of this file, written into SQL as literals so that the planner
// sees them (the partial index payment_attempts_work is on the work statuses).
const literal = (s: string): string => {
  if (!/^[a-z_]+$/.test(s)) throw new Error(`not a status: ${s}`);
  return `'${s}'`;
};

/** `'creating', 'capturing', …` for `status IN (…)`. */
export const sqlList = (xs: readonly string[]): string => xs.map(literal).join(', ');

/**
 * `CASE WHEN status = 'creating' THEN 'voiding' … END` over the given statuses; first, a local
 * attempt in one of LOCAL_VOID_AT_ONCE whose undo is a void goes to `voided` (needs the
 * `provider` column).
 */
export function undoCase(statuses: readonly AttemptStatus[], column = 'status'): string {
  const whens = statuses.map((s) => `WHEN ${literal(s)} THEN ${literal(SAGA[s].undo!)}`);
  const local = LOCAL_VOID_AT_ONCE.filter(
    (s) => statuses.includes(s) && SAGA[s].undo === 'voiding',
  );
  const atOnce = local.length
    ? `WHEN provider = 'local' AND ${column} IN (${sqlList(local)}) THEN 'voided' `
    : '';
  return `CASE ${atOnce}${whens.map((w) => w.replace('WHEN ', `WHEN ${column} = `)).join(' ')} END`;
}
