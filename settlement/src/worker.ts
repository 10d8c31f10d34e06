/**
 * The settlement worker: expires holds, runs provider calls (create, capture, void,
 * refund), nudges settlements whose captures are done, and drains the outbox. Every sweep
 * claims its rows with `FOR UPDATE SKIP LOCKED` (or a lease), so any number of worker
 * processes can run against one PostgreSQL.
 */
import type { Ctx } from './context.ts';
import { addMs } from './clock.ts';
import { runAttemptWork } from './flow/attempts.ts';
import { advance, expireMany } from './flow/transitions.ts';

/** Expires settlements whose hold ran out while a share was still open. Returns how many. */
export async function expireDue(ctx: Ctx, limit = 200): Promise<number> {
  return ctx.db.transaction(async (tx) => {
    const now = ctx.clock.now();
    const due = await tx.query<{ id: string }>(
      `SELECT id FROM settlements
       WHERE status = 'awaiting_payment'
         AND ((phase = 'open' AND hold_expires_at <= $1) OR (phase = 'capturing' AND hold_expires_at <= $2))
       ORDER BY hold_expires_at LIMIT $3 FOR UPDATE SKIP LOCKED`,
      [now, addMs(now, -ctx.captureGraceMs), limit],
    );
    return expireMany(
      ctx,
      tx,
      due.map((d) => d.id),
      now,
    );
  });
}

/** Safety net: settlements in `capturing` whose captures all finished get moved on. */
export async function advanceCapturing(ctx: Ctx, limit = 100): Promise<number> {
  return ctx.db.transaction(async (tx) => {
    const rows = await tx.query<{ id: string }>(
      `SELECT s.id FROM settlements s
       WHERE s.phase = 'capturing' AND s.status = 'awaiting_payment'
         AND NOT EXISTS (SELECT 1 FROM payment_attempts a WHERE a.settlement_id = s.id AND a.status = 'capturing')
       LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [limit],
    );
    for (const { id } of rows) await advance(ctx, tx, id, ctx.clock.now());
    return rows.length;
  });
}

/** One pass of every sweep; loops while a sweep filled its batch. */
export async function workerTick(ctx: Ctx): Promise<{ expired: number; attempts: number }> {
  let expired = 0;
  let attempts = 0;
  for (let n = await expireDue(ctx); ; n = await expireDue(ctx)) {
    expired += n;
    if (n < 200) break;
  }
  for (let round = 0; round < 20; round++) {
    const n = await runAttemptWork(ctx, 50);
    attempts += n;
    await advanceCapturing(ctx);
    if (n === 0) break;
  }
  return { expired, attempts };
}
