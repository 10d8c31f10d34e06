/**
 * Bounds guessing pickup codes through the staff lookup (`GET /stores/<id>/orders/pickup/<code>`):
 * a lookup that finds no order counts against the store and against the staff member in a fixed
 * window, in the database so every API process shares the count (like the handover lock on
 * `orders`). Past the limit, lookups are refused (`429 rate_limited`) until the window ends; a
 * lookup that finds an order does not reset the count, so a known code cannot launder guesses.
 */
import type { Queryable } from '@patungan/db';
import { SettlementError } from '../errors.ts';

/** Failed lookups one staff member may make in a window (docs/security.md). */
export const PICKUP_LOOKUP_MAX_FAILURES_PER_STAFF = 10;
/** Failed lookups a store's staff together may make in a window. */
export const PICKUP_LOOKUP_MAX_FAILURES_PER_STORE = 30;
/** The window failed lookups are counted in. */
export const PICKUP_LOOKUP_WINDOW_MS = 15 * 60_000;

const scopes = (storeId: string, staff: string) =>
  [
    { scope: `staff:${storeId}:${staff}`, max: PICKUP_LOOKUP_MAX_FAILURES_PER_STAFF },
    { scope: `store:${storeId}`, max: PICKUP_LOOKUP_MAX_FAILURES_PER_STORE },
  ] as const;

/** The refusal when the store or this staff member is past the limit, else null. */
export async function pickupLookupRefusal(
  db: Queryable,
  storeId: string,
  staff: string,
  now: Date,
): Promise<SettlementError | null> {
  const all = scopes(storeId, staff);
  const rows = await db.query<{ scope: string; window_start: Date; failures: number }>(
    'SELECT scope, window_start, failures FROM pickup_lookup_failures WHERE scope = ANY($1)',
    [all.map((s) => s.scope)],
  );
  let until = 0;
  for (const r of rows) {
    const end = new Date(r.window_start).getTime() + PICKUP_LOOKUP_WINDOW_MS;
    const max = all.find((s) => s.scope === r.scope)!.max;
    if (end > now.getTime() && r.failures >= max) until = Math.max(until, end);
  }
  if (!until) return null;
  const retryAfterSeconds = Math.ceil((until - now.getTime()) / 1000);
  return new SettlementError(
    429,
    'rate_limited',
    'Too many pickup codes that match no order: try again later',
    { retryAfterSeconds },
  );
}

/** Counts one lookup that found no order, for the staff member and the store. */
export async function countFailedPickupLookup(
  db: Queryable,
  storeId: string,
  staff: string,
  now: Date,
): Promise<void> {
  const windowStart = new Date(now.getTime() - PICKUP_LOOKUP_WINDOW_MS);
  for (const { scope } of scopes(storeId, staff)) {
    // a window that has ended starts again at this failure
    await db.query(
      `INSERT INTO pickup_lookup_failures (scope, window_start, failures) VALUES ($1, $2, 1)
       ON CONFLICT (scope) DO UPDATE SET
         failures = CASE WHEN pickup_lookup_failures.window_start > $3
                         THEN pickup_lookup_failures.failures + 1 ELSE 1 END,
         window_start = CASE WHEN pickup_lookup_failures.window_start > $3
                             THEN pickup_lookup_failures.window_start ELSE $2 END`,
      [scope, now, windowStart],
    );
  }
}
