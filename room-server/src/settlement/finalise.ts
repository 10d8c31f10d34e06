/**
 * The settlement bridge, room → settlement: `POST /rooms/<id>/finalise` locks the room,
 * snapshots the cart, asks settlement for a settlement (the shared client,
 * `@patungan/model/settlement-client`) with a deterministic idempotency key, and writes the
 * result into the room, or reopens the room with a readable reason when settlement refuses
 * (docs/contracts.md "Between the room and settlement").
 *
 * The idempotency key names the settlement it replaces (`<room>:<cartVersion>:<id>`), so an
 * ended settlement's key never answers a new finalise. Writes go through `room.transact`
 * with a `service` origin.
 */
import type { Logger } from 'pino';
import {
  cartSnapshot,
  isPaymentMethod,
  membersMap,
  metaMap,
  readMeta,
  roomStatus,
  roomStatusFor,
  settlementMap,
  signToken,
  type PaymentMethod,
} from '@patungan/model';
import {
  InsufficientStockDetailsSchema,
  SettlementEndedDetailsSchema,
  type RefusalDetails,
  type SettlementRequest,
  type SettlementState,
} from '@patungan/model/contracts';
import { SettlementApiError, SettlementClient } from '@patungan/model/settlement-client';
import { HttpError } from '../errors.ts';
import { serviceOrigin } from '../origins.ts';
import type { Room } from '../room.ts';
import type { Principal } from '../write-rules.ts';
import { endedSettlements, moveOn, paymentsRecord } from './status.ts';

export type { RefusalDetails };

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

/** settlement's answer to one `POST /settlements`: the settlement, or why not. */
type Posted = { status: number; settlement: SettlementState } | SettlementApiError;

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
  const client = new SettlementClient({ baseUrl: opts.url, timeoutMs: opts.timeoutMs });
  const members = membersMap(doc);
  // A stored choice of a method this deployment does not take (a provider without keys, say)
  // falls back to settlement's default instead of failing the whole group; the member is told
  // (`settlement.methodChanged`) and their choice is updated once the settlement exists. A
  // stored value that is no payment method at all falls back the same way.
  const enabled = await enabledMethods(client, opts);
  const fallback: PaymentMethod = enabled?.fallback ?? 'local';
  const changed: Record<string, { from: string; to: PaymentMethod }> = {};
  const request: SettlementRequest = {
    roomId: snap.roomId,
    cartVersion: snap.cartVersion,
    currency: snap.currency,
    storeId: snap.storeId,
    organiser: snap.organiser,
    split: snap.split,
    members: snap.members.map((m) => {
      const stored = (members.get(m.id) as { method?: unknown } | undefined)?.method;
      const chosen = typeof stored === 'string' ? stored : fallback;
      if (isPaymentMethod(chosen) && (!enabled || enabled.methods.includes(chosen))) {
        return { id: m.id, name: m.name, method: chosen };
      }
      changed[m.id] = { from: chosen, to: fallback };
      return { id: m.id, name: m.name, method: fallback };
    }),
    lines: snap.lines.map((l) => ({
      id: l.id,
      sku: l.sku,
      qty: l.qty,
      addedBy: l.addedBy,
      ...(l.sharedWith ? { sharedWith: l.sharedWith } : {}),
      ...(l.note ? { note: l.note } : {}),
    })),
    ...(snap.collector ? { collector: snap.collector } : {}),
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
  let res: Posted | null;
  try {
    const token = await signToken(
      { sub: 'room-server', room: room.id, name: 'room-server', role: 'service' },
      opts.secret,
      { ttlSeconds: 600 },
    );
    const post = (idempotencyKey: string, l: Logger): Promise<Posted> =>
      client
        .createSettlement(request, {
          token,
          idempotencyKey,
          retries: opts.retries,
          retryDelayMs: opts.retryDelayMs,
          onRetry: (err, attempt) =>
            err.status === 0
              ? l.warn({ err: err.message, attempt }, 'settlement not reachable')
              : l.warn({ status: err.status, attempt }, 'settlement answered a transient error'),
        })
        .catch((err: unknown) => {
          if (err instanceof SettlementApiError) return err;
          throw err;
        });
    res = await post(key, log);
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
      res = await post(key, log);
    }
  } catch (err) {
    log.error({ err }, 'finalise failed');
    res = null;
  }
  if (res instanceof SettlementApiError && res.code === 'region_unavailable') {
    // The store's region (its own database) is down while the others sell on: say so, so the
    // group can wait or choose a store in another region (docs/contracts.md "Regions").
    const region = typeof res.details?.region === 'string' ? res.details.region : undefined;
    log.error({ status: res.status, region, storeId: snap.storeId }, 'store region unavailable');
    await reopen(`the store's region${region ? ` (${region})` : ''} is not reachable right now`, {
      code: 'region_unavailable',
      storeId: snap.storeId,
      ...(region ? { region } : {}),
    });
    throw new HttpError(
      503,
      'region_unavailable',
      "the store's region is not reachable right now; try again or choose a store in another region",
    );
  }
  if (res === null || (res instanceof SettlementApiError && res.transient)) {
    if (res) log.error({ err: res.message, status: res.status }, 'finalise failed');
    await reopen('the settlement service is not reachable right now, try again', {
      code: 'settlement_unavailable',
    });
    throw new HttpError(
      503,
      'settlement_unavailable',
      'the settlement service is not reachable, try again',
    );
  }
  if (res instanceof SettlementApiError && res.code === 'bad_answer') {
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
  if (res instanceof SettlementApiError) {
    const { reason, details } = refusalReason(res, snap.storeId);
    log.info({ status: res.status, reason, code: details.code }, 'settlement refused the cart');
    await reopen(reason, details);
    // settlement's refusal, passed through with its body
    return { status: res.status, body: res.body };
  }
  const settlement = res.settlement;
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
        if (member) members.set(id, { ...member, method: to });
      }
    }
    if (!newer) metaMap(d).set('status', roomStatusFor(settlement.status));
  }, FINALISE);
  log.info({ settlementId: settlement.id }, 'room finalised');
  return { status: 202, body: { settlementId: settlement.id } };
}

/** How long the list of enabled payment methods is reused (it changes only on redeploys). */
const METHODS_TTL_MS = 60_000;
const methodsCache = new Map<string, { at: number; value: EnabledMethods }>();
interface EnabledMethods {
  methods: PaymentMethod[];
  fallback: PaymentMethod;
}

/**
 * settlement's `GET /payment-methods`, cached for a minute per settlement URL; null when it
 * cannot be read (an older settlement, a network error): then the stored choices go as they
 * are and settlement itself says what it refuses.
 */
async function enabledMethods(
  client: SettlementClient,
  opts: SettlementClientOptions,
): Promise<EnabledMethods | null> {
  const hit = methodsCache.get(opts.url);
  if (hit && Date.now() - hit.at < METHODS_TTL_MS) return hit.value;
  try {
    const body = await client.paymentMethods({ timeoutMs: Math.min(2000, opts.timeoutMs) });
    // a method this build does not know (a newer settlement) is not offered
    const methods = body.items.map((i) => i.method).filter(isPaymentMethod);
    if (methods.length === 0) return null;
    const fallback = methods.find((m) => m === body.default) ?? methods[0]!;
    const value = { methods, fallback };
    methodsCache.set(opts.url, { at: Date.now(), value });
    return value;
  } catch (err) {
    // 404: an older settlement without the list; said at warn only when it was not reached
    if (!(err instanceof SettlementApiError) || err.status === 0 || err.status >= 500) {
      opts.log.warn({ err: (err as Error).message }, 'payment methods not readable');
    }
    return null;
  }
}

/** The settlement id of a `409 settlement_ended` answer (the key's settlement has ended). */
function endedSettlementId(res: Posted): string | null {
  if (!(res instanceof SettlementApiError) || res.status !== 409) return null;
  if (res.code !== 'settlement_ended') return null;
  const d = SettlementEndedDetailsSchema.safeParse(res.details);
  return d.success ? d.data.settlementId : null;
}

/** At most this many short products are carried into the room (a cart has few lines anyway). */
const MAX_SHORT = 50;

/**
 * "2 × Teh Botol short at Toko Bandung" (and its data) from settlement's refusal. A `409
 * insufficient_stock` names the store and each short product (the contract's
 * `InsufficientStockDetails`), so nothing is looked up; a refusal without names (an older
 * settlement) is worded with the sku codes and the store id.
 */
function refusalReason(
  err: SettlementApiError,
  storeId: string,
): { reason: string; details: RefusalDetails } {
  if (err.code === 'insufficient_stock') {
    const named = InsufficientStockDetailsSchema.safeParse(err.details);
    const given = named.success ? named.data : unnamedShortage(err.details, storeId);
    if (given && given.short.length > 0) {
      const short = given.short.slice(0, MAX_SHORT).map((s) => ({
        sku: s.sku,
        name: s.name,
        wanted: s.wanted,
        available: Math.max(0, s.available),
      }));
      const parts = short.map((i) => `${i.wanted - i.available} × ${i.name} short`);
      return {
        reason: `${parts.join(', ')} at ${given.storeName}`,
        details: { code: 'insufficient_stock', storeId, storeName: given.storeName, short },
      };
    }
  }
  const code = err.code || 'refused';
  if (err.message) return { reason: err.message, details: { code } };
  return { reason: 'the settlement service refused the cart', details: { code } };
}

/** A shortage as an older settlement said it (skus only): the codes stand in for names. */
function unnamedShortage(details: Record<string, unknown> | undefined, storeId: string) {
  const short = details?.short;
  if (!Array.isArray(short)) return null;
  return {
    storeName: typeof details?.storeName === 'string' ? details.storeName : storeId,
    short: (
      short as { sku?: unknown; name?: unknown; wanted?: unknown; available?: unknown }[]
    ).map((s) => ({
      sku: String(s.sku),
      name: typeof s.name === 'string' ? s.name : String(s.sku),
      wanted: typeof s.wanted === 'number' ? s.wanted : 0,
      available: typeof s.available === 'number' ? s.available : 0,
    })),
  };
}
