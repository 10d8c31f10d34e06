/**
 * The room-server's side of settlement (docs/architecture.md "Extensions"):
 * - finalise: lock the room, snapshot the cart, ask settlement for a settlement with a
 *   deterministic idempotency key, write the result into the room (or reopen the room with a
 *   readable reason when settlement refuses);
 * - `PUT /rooms/<id>/settlement`: apply a status change from settlement's outbox, ignoring
 *   stale sequence numbers, and derive `meta.status`.
 * Both write through `room.transact` with a `service` origin: no fake socket, no write rules.
 */
import { z } from 'zod';
import type { Logger } from 'pino';
import {
  cartSnapshot,
  membersMap,
  metaMap,
  readMeta,
  roomStatus,
  settlementMap,
  signToken,
} from '@patungan/model';
import type { RoomStatus, SettlementStatus } from '@patungan/model';
import { HttpError } from './errors.ts';
import { serviceOrigin } from './hooks.ts';
import type { Room } from './room.ts';
import type { Principal } from './write-rules.ts';

export interface SettlementClientOptions {
  /** Base URL of the settlement API (SETTLEMENT_URL). */
  url: string;
  /** ROOM_TOKEN_SECRET, to sign the service token. */
  secret: string;
  /** Attempts after the first on network errors / 5xx / 429 (default 3). */
  retries: number;
  /** First retry delay; doubles each time (default 200 ms). */
  retryDelayMs: number;
  /** Per-request timeout (default 10 s). */
  timeoutMs: number;
  log: Logger;
}

const FINALISE = serviceOrigin('finalise');
const SETTLEMENT = serviceOrigin('settlement');

const SETTLEMENT_STATUSES = [
  'awaiting_payment',
  'paid',
  'packed',
  'ready_for_pickup',
  'completed',
  'expired',
  'cancelled',
] as const satisfies readonly SettlementStatus[];

/** The room status a settlement status implies (architecture.md). */
export function roomStatusFor(s: SettlementStatus): RoomStatus {
  return s === 'completed'
    ? 'completed'
    : s === 'expired' || s === 'cancelled'
      ? 'open'
      : 'settling';
}

const PaymentSchema = z
  .object({
    memberId: z.string().optional(),
    amount: z.number().int(),
    currency: z.string(),
    status: z.string(),
    method: z.string(),
    payUrl: z.string().optional(),
  })
  .passthrough();
type Payment = z.infer<typeof PaymentSchema>;

const SettlementSchema = z
  .object({
    id: z.string().min(1),
    status: z.enum(SETTLEMENT_STATUSES),
    holdExpiresAt: z.string().nullable().optional(),
    total: z.number().int().optional(),
    payments: z.union([z.record(z.string(), PaymentSchema), z.array(PaymentSchema)]).optional(),
    pickupCode: z.string().optional(),
    reason: z.string().optional(),
  })
  .passthrough();

export const SettlementPutSchema = z.object({
  seq: z.number().int().nonnegative(),
  settlement: SettlementSchema,
});

/** Payments as the room document holds them: member id → payment (without the id). */
function paymentsRecord(
  p: Record<string, Payment> | Payment[] | undefined,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!p) return out;
  const entries: [string, Payment][] = Array.isArray(p)
    ? p.filter((x) => x.memberId).map((x) => [x.memberId!, x])
    : Object.entries(p);
  for (const [id, { memberId: _m, ...rest }] of entries) {
    out[id] = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
  }
  return out;
}

const TERMINAL = new Set<unknown>(['expired', 'cancelled']);

/** Applies a settlement status change; returns whether it changed the room. */
export async function applySettlementPut(
  room: Room,
  body: z.infer<typeof SettlementPutSchema>,
): Promise<{ applied: boolean; seq: number }> {
  const s = settlementMap(room.doc);
  const storedId = s.get('id');
  const storedSeq = s.get('seq');
  const next = body.settlement;
  if (storedId === next.id) {
    if (typeof storedSeq === 'number' && body.seq <= storedSeq)
      return { applied: false, seq: storedSeq };
  } else if (
    typeof storedId === 'string' &&
    !TERMINAL.has(s.get('status')) &&
    typeof storedSeq === 'number'
  ) {
    // A late message about an older settlement of this room: the current one wins.
    return { applied: false, seq: storedSeq };
  }
  await room.transact((doc) => {
    const m = settlementMap(doc);
    m.set('id', next.id);
    m.set('status', next.status);
    m.set('seq', body.seq);
    if (next.holdExpiresAt !== undefined) m.set('holdExpiresAt', next.holdExpiresAt);
    if (next.total !== undefined) m.set('total', next.total);
    if (next.payments !== undefined) m.set('payments', paymentsRecord(next.payments));
    if (next.pickupCode !== undefined) m.set('pickupCode', next.pickupCode);
    if (next.reason !== undefined) m.set('reason', next.reason);
    if (TERMINAL.has(next.status)) {
      m.set(
        'lastError',
        next.reason ??
          (next.status === 'expired'
            ? 'the payment window expired before everyone paid'
            : 'the settlement was cancelled'),
      );
    } else if (m.has('lastError')) m.delete('lastError');
    metaMap(doc).set('status', roomStatusFor(next.status));
  }, SETTLEMENT);
  return { applied: true, seq: body.seq };
}

// ---------------------------------------------------------------- finalise

interface HttpResult {
  status: number;
  body: unknown;
}

const inFlight = new WeakMap<Room, Promise<HttpResult>>();

/** POST /rooms/<id>/finalise. One at a time per room; a second caller gets the same answer. */
export function finalise(
  room: Room,
  who: Principal,
  input: { storeId?: string },
  opts: SettlementClientOptions,
): Promise<HttpResult> {
  const running = inFlight.get(room);
  if (running) return running;
  const p = runFinalise(room, who, input, opts).finally(() => inFlight.delete(room));
  inFlight.set(room, p);
  return p;
}

async function runFinalise(
  room: Room,
  who: Principal,
  input: { storeId?: string },
  opts: SettlementClientOptions,
): Promise<HttpResult> {
  const doc = room.doc;
  const meta = readMeta(doc);
  if (!meta) throw new HttpError(409, 'room_not_initialised', 'this room has no organiser yet');
  if (who.role !== 'service' && !(who.role === 'organiser' && who.id === meta.organiser)) {
    throw new HttpError(403, 'forbidden', "only the room's organiser can finalise it");
  }
  const status = roomStatus(doc);
  if (status === 'settling' || status === 'completed') {
    const id = settlementMap(doc).get('id');
    if (typeof id === 'string') return { status: 202, body: { settlementId: id } };
    throw new HttpError(409, 'already_finalised', `the room is ${status}`);
  }
  await room.transact((d) => {
    if (input.storeId) metaMap(d).set('storeId', input.storeId);
    metaMap(d).set('status', 'locked');
  }, FINALISE);

  const snap = cartSnapshot(doc, room.id);
  const reopen = (reason: string) =>
    room.transact((d) => {
      settlementMap(d).set('lastError', reason);
      metaMap(d).set('status', 'open');
    }, FINALISE);
  if (!snap.storeId) {
    await reopen('choose a pickup store before finalising');
    throw new HttpError(422, 'no_store', 'choose a pickup store before finalising');
  }
  if (snap.lines.length === 0) {
    await reopen('the cart is empty');
    throw new HttpError(422, 'empty_cart', 'the cart is empty');
  }
  const members = membersMap(doc);
  const request = {
    roomId: snap.roomId,
    cartVersion: snap.cartVersion,
    currency: snap.currency,
    storeId: snap.storeId,
    organiser: snap.organiser,
    split: snap.split,
    members: snap.members.map((m) => {
      const method = (members.get(m.id) as { method?: unknown } | undefined)?.method;
      return { id: m.id, name: m.name, method: typeof method === 'string' ? method : 'local' };
    }),
    lines: snap.lines.map((l) => ({
      id: l.id,
      sku: l.sku,
      qty: l.qty,
      addedBy: l.addedBy,
      ...(l.sharedWith ? { sharedWith: l.sharedWith } : {}),
    })),
  };
  const key = `${room.id}:${snap.cartVersion}`;
  const log = opts.log.child({ roomId: room.id, memberId: who.id, idempotencyKey: key });
  let res: HttpResult | null;
  try {
    res = await postSettlement(request, key, room.id, opts, log);
  } catch (err) {
    log.error({ err }, 'finalise failed');
    res = null;
  }
  if (!res || res.status >= 500 || res.status === 429) {
    await reopen('the settlement service is not reachable right now, try again');
    throw new HttpError(
      503,
      'settlement_unavailable',
      'the settlement service is not reachable, try again',
    );
  }
  if (res.status !== 200 && res.status !== 201) {
    const reason = await refusalReason(res.body, snap.storeId, opts);
    log.info({ status: res.status, reason }, 'settlement refused the cart');
    await reopen(reason);
    return res;
  }
  const st = SettlementSchema.safeParse(res.body);
  if (!st.success) {
    log.error({ body: res.body }, 'settlement answered an unexpected body');
    await reopen('the settlement service answered something unexpected, try again');
    throw new HttpError(
      502,
      'bad_settlement_answer',
      'the settlement service answered something unexpected',
    );
  }
  const settlement = st.data;
  await room.transact((d) => {
    const m = settlementMap(d);
    const newer = m.get('id') === settlement.id && typeof m.get('seq') === 'number';
    if (m.get('id') !== settlement.id) m.delete('seq');
    m.set('id', settlement.id);
    if (!newer) {
      // a status PUT from the outbox may have overtaken this answer: keep the newer status
      m.set('status', settlement.status);
      if (settlement.payments) m.set('payments', paymentsRecord(settlement.payments));
    }
    if (settlement.holdExpiresAt !== undefined) m.set('holdExpiresAt', settlement.holdExpiresAt);
    if (settlement.total !== undefined) m.set('total', settlement.total);
    m.set('cartVersion', snap.cartVersion);
    m.delete('lastError');
    if (!newer) metaMap(d).set('status', roomStatusFor(settlement.status));
  }, FINALISE);
  log.info({ settlementId: settlement.id }, 'room finalised');
  return { status: 202, body: { settlementId: settlement.id } };
}

async function postSettlement(
  body: unknown,
  key: string,
  roomId: string,
  opts: SettlementClientOptions,
  log: Logger,
): Promise<HttpResult> {
  const token = await signToken(
    { sub: 'room-server', room: roomId, name: 'room-server', role: 'service' },
    opts.secret,
    { ttlSeconds: 600 },
  );
  let lastError: unknown = null;
  for (let attempt = 0; attempt <= opts.retries; attempt++) {
    if (attempt > 0) await sleep(opts.retryDelayMs * 2 ** (attempt - 1));
    try {
      const res = await fetch(new URL('/settlements', opts.url), {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${token}`,
          'idempotency-key': key,
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(opts.timeoutMs),
      });
      const text = await res.text();
      let json: unknown = null;
      try {
        json = text ? JSON.parse(text) : null;
      } catch {
        json = { error: { code: 'bad_response', message: text.slice(0, 200) } };
      }
      if (res.status >= 500 || res.status === 429) {
        log.warn({ status: res.status, attempt }, 'settlement answered a transient error');
        lastError = new Error(`settlement answered ${res.status}`);
        if (attempt === opts.retries) return { status: res.status, body: json };
        continue;
      }
      return { status: res.status, body: json };
    } catch (err) {
      log.warn({ err: (err as Error).message, attempt }, 'settlement not reachable');
      lastError = err;
    }
  }
  throw lastError instanceof Error ? lastError : new Error('settlement not reachable');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** "2 × Teh Botol short at Toko Bandung" from a 409 insufficient_stock answer. */
async function refusalReason(
  body: unknown,
  storeId: string,
  opts: SettlementClientOptions,
): Promise<string> {
  const error = (
    body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null
  )?.error;
  const short = (error?.details as { short?: unknown } | undefined)?.short;
  if (error?.code === 'insufficient_stock' && Array.isArray(short) && short.length > 0) {
    const storeName = await lookupName(opts, '/stores', (x) => x.id === storeId);
    const parts = await Promise.all(
      short.map(async (s: { sku?: unknown; wanted?: unknown; available?: unknown }) => {
        const sku = String(s.sku);
        const missing =
          typeof s.wanted === 'number' && typeof s.available === 'number'
            ? s.wanted - s.available
            : null;
        const name = await lookupName(opts, `/products/${encodeURIComponent(sku)}`, () => true);
        return `${missing ?? '?'} × ${name ?? sku} short`;
      }),
    );
    return `${parts.join(', ')} at ${storeName ?? storeId}`;
  }
  if (typeof error?.message === 'string' && error.message) return error.message;
  return 'the settlement service refused the cart';
}

/** Best effort: a product's or store's display name, or null (never throws). */
async function lookupName(
  opts: SettlementClientOptions,
  path: string,
  pick: (x: { id?: unknown; name?: unknown }) => boolean,
): Promise<string | null> {
  try {
    const res = await fetch(new URL(path, opts.url), { signal: AbortSignal.timeout(1000) });
    if (!res.ok) return null;
    const json = (await res.json()) as {
      name?: unknown;
      items?: { id?: unknown; name?: unknown }[];
    };
    const item = Array.isArray(json.items) ? json.items.find(pick) : json;
    return typeof item?.name === 'string' ? item.name : null;
  } catch {
    return null;
  }
}
