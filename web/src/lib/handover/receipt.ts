/**
 * Members' receipts of a pickup order (docs/contracts.md "Store handover"): for staff from the
 * store's order (its bags), for a shopper from the settlement their room shows them, with the
 * same packing list (`packingList` in @patungan/model), so both see the same bag.
 */
import { packingList, type Bag } from '@patungan/model';
import type { StoreOrder } from '@patungan/model/contracts';

/** One member's receipt: what is in their bag and what they paid. */
export interface Receipt {
  orderRef: string;
  storeName: string;
  /** ISO time of the order's last change (handed over, for a completed one). */
  at: string;
  status: string;
  currency: string;
  total: number;
  memberId: string;
  name: string;
  lines: Bag['lines'];
  /** The member's share of the total, when they had one. */
  amount?: number;
  method?: string;
  paymentStatus?: string;
  collector?: string;
}

/** Every member's receipt of a store order (staff). */
export function receiptsOfOrder(o: StoreOrder, storeName: string): Receipt[] {
  return (o.bags ?? []).map((b) => ({
    orderRef: o.orderRef ?? o.id,
    storeName,
    at: o.updatedAt,
    status: o.status,
    currency: o.currency,
    total: o.total,
    memberId: b.memberId,
    name: b.name,
    lines: b.lines,
    ...(b.amount !== undefined ? { amount: b.amount } : {}),
    ...(b.method ? { method: b.method } : {}),
    ...(b.paymentStatus ? { paymentStatus: b.paymentStatus } : {}),
    ...(o.collector ? { collector: o.collector.name } : {}),
  }));
}

/** The parts of settlement's `GET /settlements/<id>` (a member's token) a receipt needs. */
export interface SettlementForReceipt {
  orderRef?: string;
  storeId: string;
  status: string;
  currency: string;
  total: number;
  updatedAt: string;
  collector?: string;
  members?: { id: string; name: string }[];
  lines: {
    id: string;
    sku: string;
    name: string;
    qty: number;
    unitPrice: number;
    addedBy: string;
    sharedWith?: string[];
    note?: string;
  }[];
  payments: { memberId: string; name: string; amount: number; method: string; status: string }[];
}

/** One member's receipt from the settlement their room shows them; null when they have none. */
export function receiptOfMember(
  s: SettlementForReceipt,
  memberId: string,
  storeName: string,
): Receipt | null {
  const members = s.members ?? s.payments.map((p) => ({ id: p.memberId, name: p.name }));
  const nameOf = (id: string) => members.find((m) => m.id === id)?.name ?? id;
  const bag = packingList(members, s.lines).find((b) => b.memberId === memberId);
  const paid = s.payments.find((p) => p.memberId === memberId);
  if (!bag && !paid) return null;
  return {
    orderRef: s.orderRef ?? '',
    storeName,
    at: s.updatedAt,
    status: s.status,
    currency: s.currency,
    total: s.total,
    memberId,
    name: nameOf(memberId),
    lines: (bag?.lines ?? []).map((l) =>
      l.sharedWith ? { ...l, sharedWith: l.sharedWith.map(nameOf) } : l,
    ),
    ...(paid ? { amount: paid.amount, method: paid.method, paymentStatus: paid.status } : {}),
    ...(s.collector ? { collector: nameOf(s.collector) } : {}),
  };
}
