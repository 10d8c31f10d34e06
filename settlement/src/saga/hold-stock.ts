/**
 * Saga step "hold stock" ↔ "release". Action: hold every line at the pickup store, all or
 * none (stock.ts `holdSql`: part of the settlement's creating statement, flow/create.ts). Undo: put the units
 * back on sale — held units when the hold expires or the group cancels before paying,
 * committed units when a paid order is cancelled. When the group has paid the hold becomes
 * a commitment (`commit`); the order's pickup sells it (flow/fulfilment.ts).
 */
import type { Queryable } from '@patungan/db';
import { holdSql, moveHolds } from '../stock.ts';

/** Why stock goes back: the hold expired, or the settlement was cancelled before or after paying. */
export type ReleaseReason = 'expire' | 'release' | 'unreserve';

export const holdStock = {
  name: 'hold-stock',
  action: holdSql,
  /** Every hold of the settlements goes back on sale (ledger reason `release`). */
  undo: (tx: Queryable, settlementIds: string | readonly string[], why: ReleaseReason, now: Date) =>
    moveHolds(tx, settlementIds, why, now),
  /** The group paid: held units become committed (still on the shelf, no longer for sale). */
  commit: (tx: Queryable, settlementId: string, now: Date) =>
    moveHolds(tx, settlementId, 'commit', now),
} as const;
