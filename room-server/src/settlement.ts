/**
 * The room-server's side of settlement (docs/architecture.md "Extensions"):
 * - finalise: lock the room, snapshot the cart, ask settlement for a settlement with a
 *   deterministic idempotency key, write the result into the room (or reopen the room with a
 *   readable reason when settlement refuses);
 * - `PUT /rooms/<id>/settlement`: apply a status change from settlement's outbox, ignoring
 *   stale sequence numbers, and derive `meta.status`.
 *
 * A room may go through several settlements (docs/contracts.md "Between the room and settlement": after one ends
 * `expired` or `cancelled`, the organiser can finalise again). The room's `settlement` map
 * keeps, besides the current settlement:
 * - `seq`: the highest outbox sequence applied to this room, across all its settlements; it
 *   never decreases, so a late or redelivered message is acknowledged and ignored;
 * - `ended`: the ids of the room's earlier settlements (newest last, at most ENDED_KEEP); a
 *   message about one of them never changes the room again, whatever its sequence.
 * Finalise's idempotency key names the settlement it replaces (`<room>:<cartVersion>:<id>`),
 * so an ended settlement's key never answers a new finalise.
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
import type { PaymentMethod, RoomStatus, SettlementStatus } from '@patungan/model';
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
    /** Expired or cancelled: who had not paid (member ids; the room shows their names). */
    unpaid: z.array(z.string()).optional(),
    /** The hold was extended once while a member paid at a provider. */
    holdExtended: z.boolean().optional(),
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

/** How many earlier settlement ids a room remembers as ended (never to be switched back to). */
export const ENDED_KEEP = 20;

/** Fields that describe one settlement: cleared when the room moves on to another one. */
const PER_SETTLEMENT = [
  'status',
  'holdExpiresAt',
  'total',
  'payments',
  'pickupCode',
  'reason',
  'cartVersion',
  'unpaid',
  'holdExtended',
  'methodChanged',
] as const;

type SettlementYMap = ReturnType<typeof settlementMap>;

/** The ids of the room's earlier settlements (`settlement.ended`). */
export function endedSettlements(m: SettlementYMap): string[] {
  const v = m.get('ended');
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** Makes `id` the room's current settlement; the one it replaces is remembered as ended. */
function moveOn(m: SettlementYMap, id: string, alsoEnded: readonly string[] = []): void {
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
  body: z.infer<typeof SettlementPutSchema>,
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
    if (next.reason !== undefined) m.set('reason', next.reason);
    if (next.unpaid !== undefined) m.set('unpaid', next.unpaid);
    if (next.holdExtended !== undefined) m.set('holdExtended', next.holdExtended);
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
  // The one check of who may finalise (web only says who is asking; settlement takes the
  // snapshot from a service token): a service, or the organiser the document names. An
  // organiser token's role alone is not enough — its subject must be that organiser.
  if (
    who.role !== 'service' &&
    !(who.role === 'organiser' && (!meta || who.id === meta.organiser))
  ) {
    throw new HttpError(403, 'forbidden', "only the room's organiser can finalise it");
  }
  if (!meta) throw new HttpError(409, 'room_not_initialised', 'this room has no organiser yet');
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
  // `lastError` is the English sentence (logs, older clients); `lastErrorDetails` the same
  // refusal as data, which the room shows in each reader's own language.
  const reopen = (reason: string, details: RefusalDetails) =>
    room.transact((d) => {
      settlementMap(d).set('lastError', reason);
      settlementMap(d).set('lastErrorDetails', details);
      metaMap(d).set('status', 'open');
    }, FINALISE);
  if (!snap.storeId) {
    await reopen('choose a pickup store before finalising', { code: 'no_store' });
    throw new HttpError(422, 'no_store', 'choose a pickup store before finalising');
  }
  if (snap.lines.length === 0) {
    await reopen('the cart is empty', { code: 'empty_cart' });
    throw new HttpError(422, 'empty_cart', 'the cart is empty');
  }
  const members = membersMap(doc);
  // A stored choice of a method this deployment does not take (a provider without keys, say)
  // falls back to settlement's default instead of failing the whole group; the member is told
  // (`settlement.methodChanged`) and their choice is updated once the settlement exists.
  const enabled = await enabledMethods(opts);
  const changed: Record<string, { from: string; to: string }> = {};
  const request = {
    roomId: snap.roomId,
    cartVersion: snap.cartVersion,
    currency: snap.currency,
    storeId: snap.storeId,
    organiser: snap.organiser,
    split: snap.split,
    members: snap.members.map((m) => {
      const stored = (members.get(m.id) as { method?: unknown } | undefined)?.method;
      let method = typeof stored === 'string' ? stored : (enabled?.fallback ?? 'local');
      if (enabled && !enabled.methods.includes(method)) {
        changed[m.id] = { from: method, to: enabled.fallback };
        method = enabled.fallback;
      }
      return { id: m.id, name: m.name, method };
    }),
    lines: snap.lines.map((l) => ({
      id: l.id,
      sku: l.sku,
      qty: l.qty,
      addedBy: l.addedBy,
      ...(l.sharedWith ? { sharedWith: l.sharedWith } : {}),
    })),
  };
  // The key names the settlement this one replaces: after a settlement ends, finalising the
  // same cart is a new request (a new settlement), while a double tap, a retry or another
  // instance finalising the same room at the same moment sends the same key (one settlement).
  const previous = settlementMap(doc).get('id');
  const keyFor = (after: unknown) =>
    typeof after === 'string'
      ? `${room.id}:${snap.cartVersion}:${after}`
      : `${room.id}:${snap.cartVersion}`;
  let key = keyFor(previous);
  let log = opts.log.child({ roomId: room.id, memberId: who.id, idempotencyKey: key });
  for (const [memberId, c] of Object.entries(changed)) {
    log.info({ memberId, from: c.from, to: c.to }, 'payment method not enabled here, fell back');
  }
  const endedOnTheWay: string[] = [];
  let res: HttpResult | null;
  try {
    res = await postSettlement(request, key, room.id, opts, log);
    // The key's settlement has ended though the room never heard of it (its status message is
    // still on the way): the next key names that one. Bounded, deterministic for every caller.
    for (let hop = 0; hop < 3; hop++) {
      const ended = endedSettlementId(res);
      if (ended === null || endedOnTheWay.includes(ended)) break;
      endedOnTheWay.push(ended);
      key = keyFor(ended);
      log = opts.log.child({ roomId: room.id, memberId: who.id, idempotencyKey: key });
      log.info(
        { endedSettlementId: ended },
        'the settlement of this key has ended, finalising anew',
      );
      res = await postSettlement(request, key, room.id, opts, log);
    }
  } catch (err) {
    log.error({ err }, 'finalise failed');
    res = null;
  }
  if (!res || res.status >= 500 || res.status === 429) {
    await reopen('the settlement service is not reachable right now, try again', {
      code: 'settlement_unavailable',
    });
    throw new HttpError(
      503,
      'settlement_unavailable',
      'the settlement service is not reachable, try again',
    );
  }
  if (res.status !== 200 && res.status !== 201) {
    const { reason, details } = await refusalReason(res.body, snap.storeId, opts);
    log.info({ status: res.status, reason, code: details.code }, 'settlement refused the cart');
    await reopen(reason, details);
    return res;
  }
  const st = SettlementSchema.safeParse(res.body);
  if (!st.success) {
    log.error({ body: res.body }, 'settlement answered an unexpected body');
    await reopen('the settlement service answered something unexpected, try again', {
      code: 'bad_settlement_answer',
    });
    throw new HttpError(
      502,
      'bad_settlement_answer',
      'the settlement service answered something unexpected',
    );
  }
  const settlement = st.data;
  if (endedSettlements(settlementMap(doc)).includes(settlement.id)) {
    // Never move the room back onto a settlement it has seen end.
    log.warn({ settlementId: settlement.id }, 'settlement answered with an ended settlement');
    await reopen('this checkout has ended, finalise again', { code: 'settlement_ended' });
    throw new HttpError(409, 'settlement_ended', 'this checkout has ended, finalise again');
  }
  await room.transact((d) => {
    const m = settlementMap(d);
    // A status PUT from the outbox may have overtaken this answer (or another instance wrote
    // the same answer): keep what is there, it is at least as new.
    const newer = m.get('id') === settlement.id;
    moveOn(m, settlement.id, endedOnTheWay);
    if (!newer) {
      m.set('status', settlement.status);
      if (settlement.payments) m.set('payments', paymentsRecord(settlement.payments));
    }
    if (settlement.holdExpiresAt !== undefined) m.set('holdExpiresAt', settlement.holdExpiresAt);
    if (settlement.total !== undefined) m.set('total', settlement.total);
    m.set('cartVersion', snap.cartVersion);
    m.delete('lastError');
    m.delete('lastErrorDetails');
    if (Object.keys(changed).length > 0) {
      m.set('methodChanged', changed);
      for (const [id, { to }] of Object.entries(changed)) {
        const member = members.get(id);
        if (member) members.set(id, { ...member, method: to as PaymentMethod });
      }
    }
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

/** How long the list of enabled payment methods is reused (it changes only on redeploys). */
const METHODS_TTL_MS = 60_000;
const methodsCache = new Map<string, { at: number; value: EnabledMethods }>();
interface EnabledMethods {
  methods: string[];
  fallback: string;
}

/**
 * settlement's `GET /payment-methods`, cached for a minute per settlement URL; null when it
 * cannot be read (an older settlement, a network error): then the stored choices go as they
 * are and settlement itself says what it refuses.
 */
async function enabledMethods(opts: SettlementClientOptions): Promise<EnabledMethods | null> {
  const hit = methodsCache.get(opts.url);
  if (hit && Date.now() - hit.at < METHODS_TTL_MS) return hit.value;
  try {
    const res = await fetch(new URL('/payment-methods', opts.url), {
      signal: AbortSignal.timeout(Math.min(2000, opts.timeoutMs)),
    });
    if (!res.ok) return null;
    const body = (await res.json()) as { items?: { method?: unknown }[]; default?: unknown };
    const methods = (body.items ?? [])
      .map((i) => i.method)
      .filter((m): m is string => typeof m === 'string');
    if (methods.length === 0) return null;
    const fallback =
      typeof body.default === 'string' && methods.includes(body.default)
        ? body.default
        : methods[0]!;
    const value = { methods, fallback };
    methodsCache.set(opts.url, { at: Date.now(), value });
    return value;
  } catch (err) {
    opts.log.warn({ err: (err as Error).message }, 'payment methods not readable');
    return null;
  }
}

/** The settlement id of a `409 settlement_ended` answer (the key's settlement has ended). */
function endedSettlementId(res: HttpResult): string | null {
  if (res.status !== 409) return null;
  const error = (res.body as { error?: { code?: unknown; details?: unknown } } | null)?.error;
  const id = (error?.details as { settlementId?: unknown } | undefined)?.settlementId;
  return error?.code === 'settlement_ended' && typeof id === 'string' && id ? id : null;
}

/**
 * Why the room reopened, as data (`settlement.lastErrorDetails`): a code every reader's app words
 * in its own language, and for a stock refusal the store and each short product by name with
 * what was wanted and what the store has.
 */
export interface RefusalDetails {
  code: string;
  storeId?: string;
  storeName?: string;
  short?: { sku: string; name: string; wanted: number; available: number }[];
}

/** At most this many short products are carried into the room (a cart has few lines anyway). */
const MAX_SHORT = 50;

/**
 * "2 × Teh Botol short at Toko Bandung" (and its data) from a 409 insufficient_stock answer.
 * Names come with settlement's answer; an older settlement without them is asked by sku.
 */
async function refusalReason(
  body: unknown,
  storeId: string,
  opts: SettlementClientOptions,
): Promise<{ reason: string; details: RefusalDetails }> {
  const error = (
    body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null
  )?.error;
  const given = error?.details as { short?: unknown; storeName?: unknown } | undefined;
  const short = given?.short;
  if (error?.code === 'insufficient_stock' && Array.isArray(short) && short.length > 0) {
    const storeName =
      typeof given?.storeName === 'string'
        ? given.storeName
        : ((await lookupName(opts, '/stores', (x) => x.id === storeId)) ?? storeId);
    const items = await Promise.all(
      short
        .slice(0, MAX_SHORT)
        .map(
          async (s: { sku?: unknown; name?: unknown; wanted?: unknown; available?: unknown }) => {
            const sku = String(s.sku);
            const name =
              typeof s.name === 'string'
                ? s.name
                : ((await lookupName(opts, `/products/${encodeURIComponent(sku)}`, () => true)) ??
                  sku);
            const wanted = typeof s.wanted === 'number' ? s.wanted : 0;
            const available = typeof s.available === 'number' ? Math.max(0, s.available) : 0;
            return { sku, name, wanted, available };
          },
        ),
    );
    const parts = items.map((i) => `${i.wanted - i.available} × ${i.name} short`);
    return {
      reason: `${parts.join(', ')} at ${storeName}`,
      details: { code: 'insufficient_stock', storeId, storeName, short: items },
    };
  }
  const code = typeof error?.code === 'string' && error.code ? error.code : 'refused';
  if (typeof error?.message === 'string' && error.message) {
    return { reason: error.message, details: { code } };
  }
  return { reason: 'the settlement service refused the cart', details: { code } };
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
