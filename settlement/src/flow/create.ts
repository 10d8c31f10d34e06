/**
 * POST /settlements: a finalised cart becomes a settlement, in two steps.
 *
 * 1. One transaction: claim the idempotency key, reprice every line from the catalog, split
 *    the total with model's calculator, hold every line at the store (all or nothing), and
 *    write the settlement, its payments and attempts, and an outbox event.
 * 2. Create each online payment at its provider (stable idempotency keys), then store the
 *    response under the idempotency key.
 *
 * A crash between the two leaves attempts in `creating`; the worker (or a replay of the same
 * request) finishes them, and the hold's expiry compensates if nobody does.
 */
import { computeSplit, hashJson, SplitError } from '@patungan/model';
import type { Queryable } from '@patungan/db';
import type { Ctx } from '../context.ts';
import { addMs } from '../clock.ts';
import { SettlementError, notFound } from '../errors.ts';
import { orderRef, secretId, shortId } from '../ids.ts';
import { enqueueSettlementEvent } from '../outbox.ts';
import type { Snapshot } from '../schemas.ts';
import { holdStock } from '../saga/hold-stock.ts';
import { runAttemptWork } from './attempts.ts';
import { advance } from './transitions.ts';
import { creationResponse, settlementView } from './view.ts';

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

/** Thrown inside the transaction when another request holds the same key: roll back, re-read. */
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

/** Validates references, reprices from the catalog and splits. Throws 4xx; writes nothing. */
async function plan(ctx: Ctx, s: Snapshot): Promise<Plan> {
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
  const [store] = await ctx.db.query('SELECT 1 FROM stores WHERE id = $1', [s.storeId]);
  if (!store) throw notFound(`Store ${s.storeId}`, 'unknown_store');
  const skus = [...new Set(s.lines.map((l) => l.sku))];
  const products = await ctx.db.query<{
    sku: string;
    name: string;
    price: number;
    currency: string;
  }>('SELECT sku, name, price, currency FROM products WHERE sku = ANY($1::text[])', [skus]);
  const bySku = new Map(products.map((p) => [p.sku, p]));
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

/**
 * An order reference no other settlement has. 31^8 references make a clash rare; a clash
 * with a concurrent insert of the same reference fails the unique index, the transaction
 * rolls back and the caller's retry (same idempotency key) draws again.
 */
async function freeOrderRef(tx: Queryable): Promise<string> {
  for (;;) {
    const ref = orderRef();
    const [taken] = await tx.query('SELECT 1 FROM settlements WHERE order_ref = $1', [ref]);
    if (!taken) return ref;
  }
}

async function insertAll(
  ctx: Ctx,
  s: Snapshot,
  p: Plan,
  key: string,
  hash: string,
): Promise<{ id: string; online: number }> {
  return ctx.db.transaction(async (tx) => {
    const now = ctx.clock.now();
    const id = shortId('stl');
    // First, so that a concurrent request with the same key waits here (on the key's index
    // entry) until we commit or roll back, before it holds anything.
    const claimed = await tx.query(
      `INSERT INTO idempotency_keys (key, request_hash, settlement_id, created_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (key) DO NOTHING RETURNING key`,
      [key, hash, id, now],
    );
    if (claimed.length === 0) throw KEY_TAKEN;
    const expiresAt = addMs(now, ctx.holdTtlMs);
    await tx.query(
      `INSERT INTO settlements (id, room_id, cart_version, store_id, organiser, currency, total, split,
         status, hold_expires_at, created_at, updated_at, order_ref, collector, members)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::jsonb, 'awaiting_payment', $9, $10, $10, $11, $12,
         $13::text::jsonb)`,
      [
        id,
        s.roomId,
        s.cartVersion,
        s.storeId,
        s.organiser,
        s.currency,
        p.total,
        JSON.stringify(s.split),
        expiresAt,
        now,
        await freeOrderRef(tx),
        s.collector ?? null,
        JSON.stringify(p.members.map((m) => ({ id: m.id, name: m.name }))),
      ],
    );
    await tx.query(
      `INSERT INTO settlement_lines (settlement_id, line_id, sku, name, qty, unit_price, amount, added_by, shared_with, note)
       SELECT $1, id, sku, name, qty, "unitPrice", amount, "addedBy", "sharedWith", note
       FROM jsonb_to_recordset($2::text::jsonb) AS x(id text, sku text, name text, qty integer,
         "unitPrice" bigint, amount bigint, "addedBy" text, "sharedWith" jsonb, note text)`,
      [id, JSON.stringify(p.lines)],
    );
    await holdStock.action(tx, {
      settlementId: id,
      storeId: s.storeId,
      lines: p.lines,
      expiresAt,
      now,
    });

    const payments: object[] = [];
    const attempts: object[] = [];
    p.members.forEach((m, position) => {
      const share = p.shares.get(m.id) ?? 0;
      // Members who owe nothing get no payment (a friend may still cover someone later).
      if (share === 0) return;
      const paymentId = secretId('pay');
      const atStore = m.method === 'store';
      payments.push({
        id: paymentId,
        memberId: m.id,
        name: m.name,
        position,
        method: m.method,
        share,
        status: atStore ? 'due_at_store' : 'pending',
        attempt: atStore ? 0 : 1,
        payUrl: m.method === 'local' ? `${ctx.publicUrl}/pay/${paymentId}` : null,
      });
      if (!atStore) {
        attempts.push({
          id: shortId('att'),
          paymentId,
          provider: m.method,
          amount: share,
          status: m.method === 'local' ? 'pending' : 'creating',
          ref: null,
        });
      }
    });
    await tx.query(
      `INSERT INTO payments (id, settlement_id, member_id, member_name, position, method, share, amount,
         currency, status, attempt, pay_url, updated_at)
       SELECT id, $1, "memberId", name, position, method, share, share, $2, status, attempt, "payUrl", $3
       FROM jsonb_to_recordset($4::text::jsonb) AS x(id text, "memberId" text, name text, position integer,
         method text, share bigint, status text, attempt integer, "payUrl" text)`,
      [id, s.currency, now, JSON.stringify(payments)],
    );
    await tx.query(
      `INSERT INTO payment_attempts (id, payment_id, settlement_id, attempt, provider, amount, currency,
         status, provider_ref, created_at, updated_at)
       SELECT x.id, x."paymentId", $1, 1, x.provider, x.amount, $2, x.status,
         CASE WHEN x.provider = 'local' THEN x.id END, $3, $3
       FROM jsonb_to_recordset($4::text::jsonb) AS x(id text, "paymentId" text, provider text,
         amount bigint, status text)`,
      [id, s.currency, now, JSON.stringify(attempts)],
    );
    await enqueueSettlementEvent(tx, id, now);
    // Nothing to pay online (everyone pays at the store, or the cart is free): paid at once.
    if (payments.every((x) => (x as { status: string }).status === 'due_at_store')) {
      await advance(ctx, tx, id, now);
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
    return {
      id,
      online: attempts.filter((a) => (a as { status: string }).status === 'creating').length,
    };
  });
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
  // Another process (the worker, after a crash) may be creating some of these payments right
  // now: give it a moment so the stored first response carries every pay link.
  for (let i = 0; i < 100; i++) {
    const [busy] = await ctx.db.query<{ n: number }>(
      `SELECT count(*) AS n FROM payment_attempts WHERE settlement_id = $1 AND status = 'creating'
         AND lease_until > $2`,
      [settlementId, ctx.clock.now()],
    );
    if (!busy?.n) break;
    await new Promise((r) => setTimeout(r, 50));
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
    const [existing] = await ctx.db.query<KeyRow>('SELECT * FROM idempotency_keys WHERE key = $1', [
      key,
    ]);
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
    const p = await plan(ctx, s);
    let id: { id: string; online: number } | null = null;
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
