/**
 * The settlement bridge, settlement → room: `PUT /rooms/<id>/settlement` applies a status
 * change from settlement's outbox to the room's `settlement` map, ignoring stale sequence
 * numbers, and derives `meta.status` (docs/contracts.md "Between the room and settlement").
 * The body's schema and the status mapping are the shared contract's
 * (`@patungan/model/contracts`).
 *
 * A room may go through several settlements (after one ends `expired` or `cancelled`, the
 * organiser can finalise again). The room's `settlement` map keeps, besides the current
 * settlement:
 * - `seq`: the highest outbox sequence applied to this room, across all its settlements; it
 *   never decreases, so a late or redelivered message is acknowledged and ignored;
 * - `ended`: the ids of the room's earlier settlements (newest last, at most ENDED_KEEP); a
 *   message about one of them never changes the room again, whatever its sequence.
 * Writes go through `room.transact` with a `service` origin: no fake socket, no write rules.
 */
import type { Logger } from 'pino';
import { metaMap, roomStatusFor, settlementMap } from '@patungan/model';
import {
  ENDED_SETTLEMENT_STATUSES,
  SettlementPutSchema,
  type SettlementPut,
  type SettlementState,
} from '@patungan/model/contracts';
import { serviceOrigin } from '../origins.ts';
import type { Room } from '../room.ts';

export { SettlementPutSchema, roomStatusFor };

const SETTLEMENT = serviceOrigin('settlement');

/** Payments as the room document holds them: member id → payment (without the id). */
export function paymentsRecord(p: SettlementState['payments']): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!p) return out;
  const entries = Array.isArray(p)
    ? p.flatMap((x) => (x.memberId ? [[x.memberId, x] as const] : []))
    : Object.entries(p);
  for (const [id, { memberId: _m, ...rest }] of entries) {
    out[id] = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
  }
  return out;
}

const TERMINAL = new Set<unknown>(ENDED_SETTLEMENT_STATUSES);

/** How many earlier settlement ids a room remembers as ended (never to be switched back to). */
export const ENDED_KEEP = 20;

/** Fields that describe one settlement: cleared when the room moves on to another one. */
const PER_SETTLEMENT = [
  'status',
  'holdExpiresAt',
  'total',
  'payments',
  'pickupCode',
  'orderRef',
  'reason',
  'cartVersion',
  'unpaid',
  'holdExtended',
  'methodChanged',
  'covers',
] as const;

export type SettlementYMap = ReturnType<typeof settlementMap>;

/** The ids of the room's earlier settlements (`settlement.ended`). */
export function endedSettlements(m: SettlementYMap): string[] {
  const v = m.get('ended');
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** Makes `id` the room's current settlement; the one it replaces is remembered as ended. */
export function moveOn(m: SettlementYMap, id: string, alsoEnded: readonly string[] = []): void {
  const previous = m.get('id');
  if (previous === id) return;
  const ended = endedSettlements(m);
  for (const old of [...alsoEnded, ...(typeof previous === 'string' ? [previous] : [])]) {
    if (old !== id && !ended.includes(old)) ended.push(old);
  }
  if (ended.length > 0) m.set('ended', ended.slice(-ENDED_KEEP));
  for (const k of PER_SETTLEMENT) if (m.has(k)) m.delete(k);
  m.set('id', id);
}

/** The room-wide highest sequence applied so far (-1: none yet). */
function roomSeq(m: SettlementYMap): number {
  const v = m.get('seq');
  return typeof v === 'number' ? v : -1;
}

/**
 * Why a status message must not change the room, or null when it may. Never moves a room
 * back: a sequence at or below the room-wide highest one is stale or a duplicate; a message
 * about an ended settlement of this room is old news; a message about another settlement
 * while the current one is still live is a late one about an older settlement.
 */
function staleReason(m: SettlementYMap, id: string, seq: number): string | null {
  if (seq <= roomSeq(m)) return 'stale or duplicate sequence';
  if (endedSettlements(m).includes(id)) return 'about an earlier settlement of this room';
  const current = m.get('id');
  if (typeof current === 'string' && current !== id && !TERMINAL.has(m.get('status'))) {
    return 'another settlement of this room is current';
  }
  return null;
}

/**
 * Applies a settlement status change; returns whether it changed the room and the room-wide
 * sequence. A stale or duplicate message is answered too (the outbox must stop redelivering
 * it) but changes nothing; it is logged at info with the room and settlement ids.
 */
export async function applySettlementPut(
  room: Room,
  body: SettlementPut,
  log?: Logger,
): Promise<{ applied: boolean; seq: number }> {
  const next = body.settlement;
  const why = staleReason(settlementMap(room.doc), next.id, body.seq);
  if (why !== null) {
    const m = settlementMap(room.doc);
    const seq = Math.max(0, roomSeq(m));
    log?.info(
      {
        roomId: room.id,
        settlementId: next.id,
        status: next.status,
        seq: body.seq,
        roomSeq: seq,
        currentSettlementId: m.get('id'),
        why,
      },
      'settlement status ignored',
    );
    return { applied: false, seq };
  }
  // No await between the check above and this synchronous write: nothing can come between.
  await room.transact((doc) => {
    const m = settlementMap(doc);
    moveOn(m, next.id);
    m.set('status', next.status);
    m.set('seq', body.seq);
    if (next.holdExpiresAt !== undefined) m.set('holdExpiresAt', next.holdExpiresAt);
    if (next.total !== undefined) m.set('total', next.total);
    if (next.payments !== undefined) m.set('payments', paymentsRecord(next.payments));
    if (next.pickupCode !== undefined) m.set('pickupCode', next.pickupCode);
    if (next.orderRef !== undefined) m.set('orderRef', next.orderRef);
    if (next.reason !== undefined) m.set('reason', next.reason);
    if (next.unpaid !== undefined) m.set('unpaid', next.unpaid);
    if (next.holdExtended !== undefined) m.set('holdExtended', next.holdExtended);
    if (next.covers !== undefined) m.set('covers', next.covers);
    if (TERMINAL.has(next.status)) {
      m.set(
        'lastError',
        next.reason ??
          (next.status === 'expired'
            ? 'the payment window expired before everyone paid'
            : 'the settlement was cancelled'),
      );
      m.set('lastErrorDetails', { code: next.status });
    } else {
      if (m.has('lastError')) m.delete('lastError');
      if (m.has('lastErrorDetails')) m.delete('lastErrorDetails');
    }
    metaMap(doc).set('status', roomStatusFor(next.status));
  }, SETTLEMENT);
  return { applied: true, seq: body.seq };
}
