/**
 * Who covered whom (docs/contracts.md "Between the room and settlement"), read for the
 * settlement's views and its status in the room. The record is the covered payment itself:
 * a cover sets its status to `covered` and `covered_by` and keeps its `amount` and `currency`
 * (the share the coverer took over), so there is one source of truth and nothing to keep in
 * step. A settlement that expires or is cancelled voids its covered payments: no record, as
 * nobody was charged.
 */
import type { Queryable } from '@patungan/db';

/** `memberId`'s share (`amount`, `currency`) was paid by `coveredBy`: what they owe them. */
export interface CoverRecord {
  memberId: string;
  coveredBy: string;
  amount: number;
  currency: string;
  at: string;
}

/** The covers of these settlements, by settlement id, oldest first. */
export async function coversOf(
  q: Queryable,
  settlementIds: readonly string[],
): Promise<Map<string, CoverRecord[]>> {
  const out = new Map<string, CoverRecord[]>();
  if (settlementIds.length === 0) return out;
  const rows = await q.query<{
    settlement_id: string;
    member_id: string;
    covered_by: string;
    amount: number;
    currency: string;
    updated_at: Date;
  }>(
    `SELECT settlement_id, member_id, covered_by, amount, currency, updated_at
     FROM payments
     WHERE settlement_id = ANY($1::text[]) AND status = 'covered' AND covered_by IS NOT NULL
     ORDER BY settlement_id, position`,
    [[...settlementIds]],
  );
  for (const r of rows) {
    const list = out.get(r.settlement_id) ?? [];
    list.push({
      memberId: r.member_id,
      coveredBy: r.covered_by,
      amount: Number(r.amount),
      currency: r.currency,
      at: new Date(r.updated_at).toISOString(),
    });
    out.set(r.settlement_id, list);
  }
  return out;
}
