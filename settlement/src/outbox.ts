/**
 * The outbox: events written in the same transaction as the change they describe, so an
 * event exists exactly when its change committed. The dispatcher (dispatcher.ts) publishes
 * them and delivers settlement status to the room-server.
 */
import type {
  PaymentMethod,
  PaymentStatus,
  SettlementStatus,
  SettlementStatusMessage,
} from '@patungan/model/contracts';
import type { Queryable } from '@patungan/db';
import { coversOf, type CoverRecord } from './flow/covers.ts';

export interface StockEvent {
  type: 'stock';
  storeId: string;
  sku: string;
  onHand: number;
  held: number;
  committed: number;
  available: number;
  reason: 'adjust' | 'hold' | 'release' | 'commit' | 'sale';
  version: number;
  at: string;
}

/**
 * What a room is told (`PUT /rooms/<roomId>/settlement`'s `settlement`): the shared contract's
 * status message (`@patungan/model/contracts`, which the room-server parses it with).
 */
export type RoomSettlementState = SettlementStatusMessage;

export interface SettlementEvent {
  type: 'settlement';
  roomId: string;
  settlement: RoomSettlementState;
}

export async function enqueueStockEvents(
  tx: Queryable,
  events: readonly Omit<StockEvent, 'type'>[],
  now: Date,
): Promise<void> {
  if (events.length === 0) return;
  await tx.query(
    `INSERT INTO outbox (topic, store_id, payload, created_at, delivered_at)
     SELECT 'stock', e->>'storeId', e, $2, $2 FROM jsonb_array_elements($1::text::jsonb) AS e`,
    [JSON.stringify(events.map((e) => ({ type: 'stock', ...e }))), now],
  );
}

export interface StateRow {
  id: string;
  room_id: string;
  status: SettlementStatus;
  hold_expires_at: Date;
  total: number;
  currency: string;
  store_id: string;
  pickup_code: string | null;
  order_ref: string | null;
  reason: string | null;
  unpaid: string[] | null;
  hold_extended_at: Date | null;
}

export type PaymentStateRow = {
  settlement_id: string;
  member_id: string;
  amount: number;
  currency: string;
  status: PaymentStatus;
  method: PaymentMethod;
  pay_url: string | null;
  covered_by: string | null;
};

/** Reads the room-facing state of settlements (within the caller's transaction). */
export async function roomStates(
  q: Queryable,
  settlementIds: readonly string[],
): Promise<{ roomId: string; state: RoomSettlementState }[]> {
  if (settlementIds.length === 0) return [];
  const ids = [...settlementIds];
  const settlements = await q.query<StateRow>(
    `SELECT id, room_id, status, hold_expires_at, total, currency, store_id, pickup_code, order_ref,
       reason, unpaid, hold_extended_at
     FROM settlements WHERE id = ANY($1::text[])`,
    [ids],
  );
  const payments = await q.query<PaymentStateRow>(
    `SELECT settlement_id, member_id, amount, currency, status, method, pay_url, covered_by
     FROM payments WHERE settlement_id = ANY($1::text[]) ORDER BY settlement_id, position`,
    [ids],
  );
  const bySettlement = new Map<string, PaymentStateRow[]>();
  for (const p of payments) {
    const list = bySettlement.get(p.settlement_id) ?? [];
    list.push(p);
    bySettlement.set(p.settlement_id, list);
  }
  const byId = new Map(settlements.map((s) => [s.id, s]));
  const covers = await coversOf(q, ids);
  return ids.flatMap((id) => {
    const s = byId.get(id);
    if (!s) return [];
    return [{ roomId: s.room_id, state: roomState(s, bySettlement.get(id) ?? [], covers.get(id)) }];
  });
}

/**
 * The room-facing state of one settlement from its rows: what `roomStates` reads, and what a
 * settlement being created (flow/create.ts) writes as its first event without reading back.
 */
export function roomState(
  s: StateRow,
  payments: readonly PaymentStateRow[],
  covers?: readonly CoverRecord[],
): RoomSettlementState {
  return {
    id: s.id,
    status: s.status,
    holdExpiresAt: s.hold_expires_at.toISOString(),
    total: s.total,
    currency: s.currency,
    storeId: s.store_id,
    payments: Object.fromEntries(
      payments.map((p) => [
        p.member_id,
        {
          amount: p.amount,
          currency: p.currency,
          status: p.status,
          method: p.method,
          ...(p.pay_url ? { payUrl: p.pay_url } : {}),
          ...(p.covered_by ? { coveredBy: p.covered_by } : {}),
        },
      ]),
    ),
    ...(s.pickup_code ? { pickupCode: s.pickup_code } : {}),
    ...(s.order_ref ? { orderRef: s.order_ref } : {}),
    ...(s.reason ? { reason: s.reason } : {}),
    ...(s.unpaid ? { unpaid: s.unpaid } : {}),
    ...(s.hold_extended_at ? { holdExtended: true } : {}),
    ...(covers?.length ? { covers: [...covers] } : {}),
  };
}

/**
 * Records "these settlements changed" with their full room-facing state. Every event carries
 * the whole state, so delivering only the newest one per room is enough; its outbox id is
 * the `seq` the room-server uses to ignore anything older.
 */
export async function enqueueSettlementEvents(
  tx: Queryable,
  settlementIds: readonly string[],
  now: Date,
): Promise<void> {
  const states = await roomStates(tx, settlementIds);
  if (states.length === 0) return;
  const events: SettlementEvent[] = states.map((r) => ({
    type: 'settlement',
    roomId: r.roomId,
    settlement: r.state,
  }));
  await tx.query(SETTLEMENT_EVENTS, [JSON.stringify(events), now]);
}

/**
 * Inserts settlement events ($1, a JSON array) twice: topic 'settlement' for the bus and the
 * room, and topic 'web' for web's notifications (dispatcher.ts deliverToWeb) — every one, in
 * order, not only the newest per room, since each transition (share due, ready, ended) is a
 * message; marked published, they are not for the bus. One statement; the outbox ids follow
 * the order: every 'settlement' event, then every 'web' one, each in array order.
 */
export const SETTLEMENT_EVENTS = `INSERT INTO outbox (topic, room_id, payload, created_at, published_at)
  SELECT t.topic, x.e->>'roomId', x.e, $2, CASE WHEN t.topic = 'web' THEN $2::timestamptz END
  FROM (VALUES (1, 'settlement'), (2, 'web')) AS t(ord, topic)
  CROSS JOIN jsonb_array_elements($1::text::jsonb) WITH ORDINALITY AS x(e, i)
  ORDER BY t.ord, x.i`;

export const enqueueSettlementEvent = (tx: Queryable, settlementId: string, now: Date) =>
  enqueueSettlementEvents(tx, [settlementId], now);
