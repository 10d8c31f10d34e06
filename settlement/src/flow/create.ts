/**
 * POST /settlements: a finalised cart becomes a settlement, in two steps.
 *
 * 1. One read (the idempotency key, the store, the lines' products), then reprice every line
 *    from the catalog and split the total with model's calculator; then ONE statement (one
 *    round trip, atomic on its own; docs/decisions/0017): lock the lines' stock rows in sku
 *    order, and only when every line can be held claim the idempotency key, hold every line,
 *    and write the settlement, its lines, holds, ledger entries, payments and attempts, and
 *    the outbox events. When no payment needs a provider call the answer is known already
 *    and is stored with the key in that same statement.
 * 2. Otherwise create each online payment at its provider (stable idempotency keys), then
 *    store the response under the idempotency key.
 *
 * A crash between the two leaves attempts in `creating`; the worker (or a replay of the same
 * request) finishes them, and the hold's expiry compensates if nobody does.
 */
import { computeSplit, hashJson, SplitError } from '@patungan/model';
import type { Queryable } from '@patungan/db';
import type { PaymentMethod, PaymentStatus } from '@patungan/model/contracts';
import type { Ctx } from '../context.ts';
import { addMs } from '../clock.ts';
import { SettlementError, notFound } from '../errors.ts';
import { orderRef, secretId, shortId } from '../ids.ts';
import { roomState, type SettlementEvent } from '../outbox.ts';
import type { Snapshot } from '../schemas.ts';
import { holdStock } from '../saga/hold-stock.ts';
import { shortage } from '../stock.ts';
import { runAttemptWork } from './attempts.ts';
import { advance } from './transitions.ts';
import { creationResponse, settlementView, type PaymentView } from './view.ts';

export interface CreateResult {
  status: number;
  body: unknown;
}

interface KeyRow {
  request_hash: string;
  settlement_id: string | null;
  status_code: number | null;
  response: unknown;
}

/**
 * Thrown when another request holds the same key (or units went back on sale while a shortage
 * was being named): nothing was written, re-read and try again.
 */
const KEY_TAKEN = Symbol('key taken');

interface Plan {
  members: Snapshot['members'];
  lines: (Snapshot['lines'][number] & { name: string; unitPrice: number; amount: number })[];
  total: number;
  shares: Map<string, number>;
}

function checkMethods(ctx: Ctx, s: Snapshot): void {
  for (const m of s.members) {
    if (m.method === 'local' || m.method === 'store') continue;
    if (!ctx.providers[m.method]) {
      throw new SettlementError(
        422,
        'method_unavailable',
        `${m.method} payments are not enabled here`,
        {
          memberId: m.id,
          method: m.method,
        },
      );
    }
    if (m.method === 'midtrans' && s.currency !== 'IDR') {
      throw new SettlementError(422, 'method_unavailable', 'Midtrans takes rupiah (IDR) only', {
        memberId: m.id,
        method: m.method,
      });
    }
  }
}

interface Product {
  sku: string;
  name: string;
  price: number;
  currency: string;
}

/** What creating a settlement reads first, in one statement. */
interface PreRead {
  key: KeyRow | null;
  store: boolean;
  products: Product[];
}

const PRE_READ = `SELECT
  (SELECT row_to_json(k) FROM (SELECT request_hash, settlement_id, status_code, response
     FROM idempotency_keys WHERE key = $1) k) AS key,
  EXISTS (SELECT 1 FROM stores WHERE id = $2) AS store,
  (SELECT coalesce(json_agg(json_build_object('sku', sku, 'name', name, 'price', price,
     'currency', currency)), '[]'::json) FROM products WHERE sku = ANY($3::text[])) AS products`;

async function preRead(ctx: Ctx, s: Snapshot, key: string): Promise<PreRead> {
  const skus = [...new Set(s.lines.map((l) => l.sku))];
  const [r] = await ctx.db.query<PreRead>(PRE_READ, [key, s.storeId, skus]);
  return r ?? { key: null, store: false, products: [] };
}

/** Validates references, reprices from the catalog and splits. Throws 4xx; writes nothing. */
function plan(ctx: Ctx, s: Snapshot, read: PreRead): Plan {
  const ids = s.members.map((m) => m.id);
  if (new Set(ids).size !== ids.length) {
    throw new SettlementError(400, 'invalid_request', 'members: each member may appear once', {
      field: 'members',
    });
  }
  if (new Set(s.lines.map((l) => l.id)).size !== s.lines.length) {
    throw new SettlementError(400, 'invalid_request', 'lines: each line id may appear once', {
      field: 'lines',
    });
  }
  if (!ids.includes(s.organiser)) {
    throw new SettlementError(
      400,
      'invalid_request',
      'organiser: the organiser must be one of the members',
      {
        field: 'organiser',
      },
    );
  }
  if (s.collector !== undefined && !ids.includes(s.collector)) {
    throw new SettlementError(400, 'invalid_request', 'collector: must be one of the members', {
      field: 'collector',
    });
  }
  checkMethods(ctx, s);
  // Split order: organiser first, then as given (by join time).
  const members = [
    ...s.members.filter((m) => m.id === s.organiser),
    ...s.members.filter((m) => m.id !== s.organiser),
  ];
  if (!read.store) throw notFound(`Store ${s.storeId}`, 'unknown_store');
  const skus = [...new Set(s.lines.map((l) => l.sku))];
  const bySku = new Map(read.products.map((p) => [p.sku, p]));
  const unknown = skus.filter((k) => !bySku.has(k));
  if (unknown.length > 0) {
    throw new SettlementError(404, 'unknown_sku', `Unknown product ${unknown.join(', ')}`, {
      skus: unknown,
    });
  }
  const lines = s.lines.map((l) => {
    const p = bySku.get(l.sku)!;
    if (p.currency !== s.currency) {
      throw new SettlementError(
        422,
        'currency_mismatch',
        `${l.sku} is priced in ${p.currency}, the cart in ${s.currency}`,
        {
          sku: l.sku,
        },
      );
    }
    return { ...l, name: p.name, unitPrice: p.price, amount: p.price * l.qty };
  });
  const total = lines.reduce((a, l) => a + l.amount, 0);
  if (!Number.isSafeInteger(total))
    throw new SettlementError(422, 'invalid_request', 'The cart total is too large');
  try {
    const split = computeSplit({
      members: members.map((m) => m.id),
      lines: lines.map((l) => ({
        id: l.id,
        amount: l.amount,
        addedBy: l.addedBy,
        ...(l.sharedWith ? { sharedWith: l.sharedWith } : {}),
      })),
      split: s.split,
    });
    return { members, lines, total, shares: new Map(split.map((x) => [x.memberId, x.amount])) };
  } catch (err) {
    if (err instanceof SplitError) {
      throw new SettlementError(422, 'invalid_split', err.message, { reason: err.code });
    }
    throw err;
  }
}

/** A clash of the drawn order reference with another settlement's (31^8 make it rare): draw again. */
function orderRefClash(err: unknown): boolean {
  const e = err as { code?: unknown; constraint_name?: unknown; constraint?: unknown };
  return e.code === '23505' && (e.constraint_name ?? e.constraint) === 'settlements_order_ref';
}

const HOLD = holdStock.action(
  { store: '$6', want: '$7', settlement: '$3', expiresAt: '$5', now: '$4', nowIso: '$22' },
  'claim',
);

/**
 * The whole creation in one statement (atomic on its own, one round trip). The key is claimed
 * only when every line can be held (`avail` has a row per wanted sku, locked); everything else
 * is written only when the key was claimed. Answers how many skus were wanted, how many could
 * be held, and whether the key was claimed (0: another request holds it, or a shortage).
 */
const CREATE = `WITH ${HOLD.lock}, claim AS (
    INSERT INTO idempotency_keys (key, request_hash, settlement_id, status_code, response, created_at)
    SELECT $1, $2, $3, CASE WHEN $21::text IS NOT NULL THEN 201 END, $21::text::jsonb, $4
    WHERE (SELECT count(*) FROM avail) = (SELECT count(*) FROM want)
    ON CONFLICT (key) DO NOTHING
    RETURNING key
  ), ${HOLD.hold}, new_settlement AS (
    INSERT INTO settlements (id, room_id, cart_version, store_id, organiser, currency, total, split,
      status, hold_expires_at, created_at, updated_at, order_ref, collector, members)
    SELECT $3, $8, $9, $6, $10, $11, $12, $13::text::jsonb, 'awaiting_payment', $5, $4, $4, $14, $15,
      $16::text::jsonb
    FROM claim
  ), new_lines AS (
    INSERT INTO settlement_lines (settlement_id, line_id, sku, name, qty, unit_price, amount, added_by,
      shared_with, note)
    SELECT $3, x.id, x.sku, x.name, x.qty, x."unitPrice", x.amount, x."addedBy", x."sharedWith", x.note
    FROM claim, jsonb_to_recordset($17::text::jsonb) AS x(id text, sku text, name text, qty integer,
      "unitPrice" bigint, amount bigint, "addedBy" text, "sharedWith" jsonb, note text)
  ), new_payments AS (
    INSERT INTO payments (id, settlement_id, member_id, member_name, position, method, share, amount,
      currency, status, attempt, pay_url, updated_at)
    SELECT x.id, $3, x."memberId", x.name, x.position, x.method, x.share, x.share, $11, x.status,
      x.attempt, x."payUrl", $4
    FROM claim, jsonb_to_recordset($18::text::jsonb) AS x(id text, "memberId" text, name text,
      position integer, method text, share bigint, status text, attempt integer, "payUrl" text)
  ), new_attempts AS (
    INSERT INTO payment_attempts (id, payment_id, settlement_id, attempt, provider, amount, currency,
      status, provider_ref, created_at, updated_at)
    SELECT x.id, x."paymentId", $3, 1, x.provider, x.amount, $11, x.status,
      CASE WHEN x.provider = 'local' THEN x.id END, $4, $4
    FROM claim, jsonb_to_recordset($19::text::jsonb) AS x(id text, "paymentId" text, provider text,
      amount bigint, status text)
  ), new_events AS (
    INSERT INTO outbox (topic, store_id, room_id, payload, created_at, published_at, delivered_at)
    SELECT e.topic, e.store_id, e.room_id, e.payload, $4, e.published_at, e.delivered_at
    FROM (
      ${HOLD.stockEvents}
      UNION ALL
      -- the settlement's first status, for the room and the bus, and for web (outbox.ts)
      SELECT 1 + t.ord, '', t.topic, NULL, $8::text, $20::text::jsonb,
        CASE WHEN t.topic = 'web' THEN $4::timestamptz END, NULL
      FROM claim, (VALUES (1, 'settlement'), (2, 'web')) AS t(ord, topic)
    ) e
    ORDER BY e.ord, e.k
  )
  SELECT (SELECT count(*) FROM want)::int AS wanted, (SELECT count(*) FROM avail)::int AS available,
    (SELECT count(*) FROM claim)::int AS claimed`;

interface Created {
  id: string;
  /** Payments still to be created at a provider before the answer. */
  online: number;
  /** The answer, when it was stored with the key already. */
  body: object | null;
}

async function insertAll(
  ctx: Ctx,
  s: Snapshot,
  p: Plan,
  key: string,
  hash: string,
): Promise<Created> {
  const now = ctx.clock.now();
  const id = shortId('stl');
  const expiresAt = addMs(now, ctx.holdTtlMs);
  const wanted = new Map<string, number>();
  for (const l of p.lines) wanted.set(l.sku, (wanted.get(l.sku) ?? 0) + l.qty);
  const want = [...wanted.keys()].sort().map((sku) => ({ sku, qty: wanted.get(sku)! }));

  const payments: (PaymentView & { position: number; share: number })[] = [];
  const attempts: {
    id: string;
    paymentId: string;
    provider: string;
    amount: number;
    status: string;
  }[] = [];
  p.members.forEach((m, position) => {
    const share = p.shares.get(m.id) ?? 0;
    // Members who owe nothing get no payment (a friend may still cover someone later).
    if (share === 0) return;
    const paymentId = secretId('pay');
    const atStore = m.method === 'store';
    payments.push({
      memberId: m.id,
      name: m.name,
      paymentId,
      position,
      method: m.method,
      share,
      amount: share,
      currency: s.currency,
      status: atStore ? 'due_at_store' : 'pending',
      attempt: atStore ? 0 : 1,
      ...(m.method === 'local' ? { payUrl: `${ctx.publicUrl}/pay/${paymentId}` } : {}),
    });
    if (!atStore) {
      attempts.push({
        id: shortId('att'),
        paymentId,
        provider: m.method,
        amount: share,
        status: m.method === 'local' ? 'pending' : 'creating',
      });
    }
  });
  const online = attempts.filter((a) => a.status === 'creating').length;
  // Nothing to pay online (everyone pays at the store, or the cart is free): paid at once.
  const paidAtOnce = payments.every((x) => x.status === 'due_at_store');
  const members = JSON.stringify(p.members.map((m) => ({ id: m.id, name: m.name })));

  for (let draw = 0; ; draw++) {
    const ref = orderRef();
    const event: SettlementEvent = {
      type: 'settlement',
      roomId: s.roomId,
      settlement: roomState(
        {
          id,
          room_id: s.roomId,
          status: 'awaiting_payment',
          hold_expires_at: expiresAt,
          total: p.total,
          currency: s.currency,
          store_id: s.storeId,
          pickup_code: null,
          order_ref: ref,
          reason: null,
          unpaid: null,
          hold_extended_at: null,
        },
        payments.map((x) => ({
          settlement_id: id,
          member_id: x.memberId,
          amount: x.amount,
          currency: x.currency,
          status: x.status as PaymentStatus,
          method: x.method as PaymentMethod,
          pay_url: x.payUrl ?? null,
          covered_by: null,
        })),
      ),
    };
    // The answer is known now unless a provider call comes first or the settlement is paid
    // at once: then finish() stores it.
    const body =
      online === 0 && !paidAtOnce
        ? creationResponse({
            id,
            status: 'awaiting_payment',
            holdExpiresAt: expiresAt.toISOString(),
            total: p.total,
            currency: s.currency,
            payments,
          })
        : null;
    const params = [
      key,
      hash,
      id,
      now,
      expiresAt,
      s.storeId,
      JSON.stringify(want),
      s.roomId,
      s.cartVersion,
      s.organiser,
      s.currency,
      p.total,
      JSON.stringify(s.split),
      ref,
      s.collector ?? null,
      members,
      JSON.stringify(p.lines),
      JSON.stringify(
        payments.map((x) => ({
          id: x.paymentId,
          memberId: x.memberId,
          name: x.name,
          position: x.position,
          method: x.method,
          share: x.share,
          status: x.status,
          attempt: x.attempt,
          payUrl: x.payUrl ?? null,
        })),
      ),
      JSON.stringify(attempts),
      JSON.stringify(event),
      body === null ? null : JSON.stringify(body),
      now.toISOString(),
    ];
    const run = async (q: Queryable) => {
      const [r] = await q.query<{ wanted: number; available: number; claimed: number }>(
        CREATE,
        params,
      );
      if (r?.claimed) {
        if (paidAtOnce) await advance(ctx, q, id, now);
        return true;
      }
      if (r && r.available < r.wanted) {
        // Short — unless a request with the same key held these units meanwhile: its answer
        // is the one to give (the caller re-reads the key).
        const [k] = await q.query('SELECT 1 FROM idempotency_keys WHERE key = $1', [key]);
        if (k) throw KEY_TAKEN;
        throw (await shortage(q, s.storeId, want)) ?? KEY_TAKEN;
      }
      throw KEY_TAKEN;
    };
    try {
      await (paidAtOnce ? ctx.db.transaction(run) : run(ctx.db));
    } catch (err) {
      if (draw < 5 && orderRefClash(err)) continue;
      throw err;
    }
    ctx.log.info(
      {
        settlementId: id,
        roomId: s.roomId,
        storeId: s.storeId,
        total: p.total,
        members: payments.length,
      },
      'settlement created, stock held',
    );
    return { id, online, body };
  }
}

/** Creates what is left at the providers and records the first response under the key. */
async function finish(
  ctx: Ctx,
  key: string,
  settlementId: string,
  online = true,
): Promise<CreateResult> {
  // Only online payments (Stripe, Midtrans) need a provider call before the answer.
  if (online) await createPayments(ctx, settlementId);
  const body = creationResponse(await settlementView(ctx.db, settlementId));
  const stored = await ctx.db.query(
    `UPDATE idempotency_keys SET response = $2::text::jsonb, status_code = 201
     WHERE key = $1 AND response IS NULL RETURNING key`,
    [key, JSON.stringify(body)],
  );
  ctx.kick();
  if (stored.length > 0) return { status: 201, body };
  // A concurrent replay stored its answer first: everyone gets that one.
  const [row] = await ctx.db.query<KeyRow>('SELECT * FROM idempotency_keys WHERE key = $1', [key]);
  return { status: row?.status_code ?? 201, body: row?.response ?? body };
}

async function createPayments(ctx: Ctx, settlementId: string): Promise<void> {
  await runAttemptWork(ctx, 50, settlementId);
  // Another worker may be creating some of these payments right now — and may have claimed
  // them a moment ago without having committed its claim yet, so that ours skipped them while
  // they still look unclaimed: wait for every attempt still `creating` and not backing off
  // after a failed call (claiming again what nobody holds), so the stored first response
  // carries every pay link.
  for (let i = 0; i < 100; i++) {
    const [busy] = await ctx.db.query<{ n: number }>(
      `SELECT count(*) AS n FROM payment_attempts WHERE settlement_id = $1 AND status = 'creating'
         AND (next_try_at IS NULL OR next_try_at <= $2)`,
      [settlementId, ctx.clock.now()],
    );
    if (!Number(busy?.n)) break;
    await new Promise((r) => setTimeout(r, 50));
    await runAttemptWork(ctx, 50, settlementId);
  }
}

/** Statuses after which a settlement is over and its idempotency key is spent. */
const ENDED = ['expired', 'cancelled'];

async function refuseEnded(ctx: Ctx, settlementId: string, key: string): Promise<void> {
  const [row] = await ctx.db.query<{ status: string; room_id: string }>(
    'SELECT status, room_id FROM settlements WHERE id = $1',
    [settlementId],
  );
  if (!row || !ENDED.includes(row.status)) return;
  ctx.log.info(
    { settlementId, roomId: row.room_id, status: row.status, idempotencyKey: key },
    'idempotency key of an ended settlement refused',
  );
  throw new SettlementError(
    409,
    'settlement_ended',
    `The settlement of this Idempotency-Key has ended (${row.status}); finalise again with a new key`,
    { settlementId, status: row.status },
  );
}

export async function createSettlement(ctx: Ctx, s: Snapshot, key: string): Promise<CreateResult> {
  const hash = hashJson(s);
  for (let round = 0; round < 5; round++) {
    const read = await preRead(ctx, s, key);
    const existing = read.key;
    if (existing) {
      if (existing.request_hash !== hash) {
        throw new SettlementError(
          422,
          'idempotency_key_reused',
          'This Idempotency-Key was used with a different request body',
        );
      }
      // An ended settlement's key never answers a new finalise (docs/contracts.md "Between the room and settlement"):
      // its stored answer would put the room back on a dead settlement. Not stored, like
      // every refusal; the room-server finalises again with a key naming this settlement.
      if (existing.settlement_id) await refuseEnded(ctx, existing.settlement_id, key);
      if (existing.response !== null && existing.status_code !== null) {
        return { status: existing.status_code, body: existing.response };
      }
      // The first request committed its hold but never answered (it crashed, or is still
      // creating payments): finish its work rather than holding a second time.
      if (existing.settlement_id) return finish(ctx, key, existing.settlement_id);
    }
    const p = plan(ctx, s, read);
    let id: Created | null = null;
    try {
      id = await insertAll(ctx, s, p, key, hash);
    } catch (err) {
      if (err !== KEY_TAKEN) {
        if (err instanceof SettlementError && err.code === 'insufficient_stock') {
          ctx.metrics.settlements.inc({ outcome: 'insufficient_stock' });
          throw await namedShortage(ctx, err, s.storeId, p);
        }
        throw err;
      }
    }
    if (id === null) {
      await new Promise((r) => setTimeout(r, 20 * (round + 1)));
      continue;
    }
    ctx.metrics.settlements.inc({ outcome: 'created' });
    await ctx.fault('after_hold');
    if (id.body) {
      ctx.kick();
      return { status: 201, body: id.body };
    }
    return finish(ctx, key, id.id, id.online > 0);
  }
  throw new SettlementError(
    409,
    'conflict',
    'Another request with this Idempotency-Key is in progress; retry shortly',
  );
}

/**
 * The stock refusal with names: `details.short[]` gains each product's `name` and `details` the
 * store's `storeName`, so the room can say "Toko X hanya punya 0 dari 3 Kamera" in its reader's
 * language without looking anything up (the sku codes stay for machines).
 */
async function namedShortage(
  ctx: Ctx,
  err: SettlementError,
  storeId: string,
  p: Plan,
): Promise<SettlementError> {
  const names = new Map(p.lines.map((l) => [l.sku, l.name]));
  const short = (
    (err.details?.short ?? []) as { sku: string; wanted: number; available: number }[]
  ).map((x) => ({ ...x, name: names.get(x.sku) ?? x.sku }));
  const [store] = await ctx.db
    .query<{ name: string }>('SELECT name FROM stores WHERE id = $1', [storeId])
    .catch(() => [] as { name: string }[]);
  const storeName = store?.name ?? storeId;
  return new SettlementError(
    409,
    'insufficient_stock',
    `${storeName} cannot hold ${short.map((x) => `${x.wanted} × ${x.name} (${x.available} left)`).join(', ')}`,
    { ...err.details, storeId, storeName, short },
  );
}
