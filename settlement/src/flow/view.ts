/** JSON views of a settlement: the full one (GET) and the creation response. */
import type { Queryable } from '@patungan/db';
import { notFound } from '../errors.ts';
import type { PaymentRow, SettlementRow } from './rows.ts';
import { coversOf } from './covers.ts';

export interface PaymentView {
  memberId: string;
  name: string;
  paymentId: string;
  share: number;
  amount: number;
  currency: string;
  method: string;
  status: string;
  attempt: number;
  payUrl?: string;
  coveredBy?: string;
}

export function paymentView(p: PaymentRow): PaymentView {
  return {
    memberId: p.member_id,
    name: p.member_name,
    paymentId: p.id,
    share: p.share,
    amount: p.amount,
    currency: p.currency,
    method: p.method,
    status: p.status,
    attempt: p.attempt,
    ...(p.pay_url ? { payUrl: p.pay_url } : {}),
    ...(p.covered_by ? { coveredBy: p.covered_by } : {}),
  };
}

export async function settlementView(q: Queryable, id: string) {
  const [s] = await q.query<SettlementRow>('SELECT * FROM settlements WHERE id = $1', [id]);
  if (!s) throw notFound(`Settlement ${id}`);
  const payments = await q.query<PaymentRow>(
    'SELECT * FROM payments WHERE settlement_id = $1 ORDER BY position',
    [id],
  );
  const lines = await q.query<{
    line_id: string;
    sku: string;
    name: string;
    qty: number;
    unit_price: number;
    amount: number;
    added_by: string;
    shared_with: string[] | null;
    note: string | null;
  }>('SELECT * FROM settlement_lines WHERE settlement_id = $1 ORDER BY line_id', [id]);
  const [order] = await q.query<{ id: string; status: string }>(
    'SELECT id, status FROM orders WHERE settlement_id = $1',
    [id],
  );
  const covers = (await coversOf(q, [id])).get(id) ?? [];
  return {
    id: s.id,
    roomId: s.room_id,
    cartVersion: s.cart_version,
    storeId: s.store_id,
    organiser: s.organiser,
    collector: s.collector ?? s.organiser,
    orderRef: s.order_ref,
    // every member in split order, also those who owe nothing (receipts, packing list)
    members: s.members ?? payments.map((p) => ({ id: p.member_id, name: p.member_name })),
    status: s.status,
    currency: s.currency,
    total: s.total,
    holdExpiresAt: s.hold_expires_at.toISOString(),
    createdAt: s.created_at.toISOString(),
    updatedAt: s.updated_at.toISOString(),
    ...(s.reason ? { reason: s.reason } : {}),
    ...(s.pickup_code ? { pickupCode: s.pickup_code } : {}),
    ...(order ? { orderId: order.id } : {}),
    ...(covers.length ? { covers } : {}),
    lines: lines.map((l) => ({
      id: l.line_id,
      sku: l.sku,
      name: l.name,
      qty: l.qty,
      unitPrice: l.unit_price,
      amount: l.amount,
      addedBy: l.added_by,
      ...(l.shared_with?.length ? { sharedWith: l.shared_with } : {}),
      ...(l.note ? { note: l.note } : {}),
    })),
    payments: payments.map(paymentView),
  };
}

export type SettlementView = Awaited<ReturnType<typeof settlementView>>;

/**
 * What store staff see of a settlement: the handover (status, lines, order reference, who
 * owes what) without any payment id or pay link — with either, anyone can authorise or
 * decline that member's share on the pay page — and without the pickup code, which the
 * shoppers bring to the counter (docs/contracts.md "Store handover").
 */
export function staffSettlementView(v: SettlementView) {
  const { pickupCode: _code, ...rest } = v;
  return {
    ...rest,
    payments: v.payments.map(({ paymentId: _id, payUrl: _url, ...p }) => p),
  };
}

/** The `201` body of POST /settlements (docs/contracts.md "Settlement API"), a subset of the full view. */
export function creationResponse(
  v: Pick<SettlementView, 'id' | 'status' | 'holdExpiresAt' | 'total' | 'currency'> & {
    payments: readonly PaymentView[];
  },
) {
  return {
    id: v.id,
    status: v.status,
    holdExpiresAt: v.holdExpiresAt,
    total: v.total,
    currency: v.currency,
    payments: v.payments.map((p) => ({
      memberId: p.memberId,
      paymentId: p.paymentId,
      amount: p.amount,
      currency: p.currency,
      method: p.method,
      status: p.status,
      ...(p.payUrl ? { payUrl: p.payUrl } : {}),
    })),
  };
}
