/**
 * Stock movements. Each one changes the stock row, writes a ledger entry with its reason and
 * an outbox event, all in the caller's transaction. The invariant
 * on_hand − held − committed ≥ 0 is checked twice: by the guarded UPDATE (which is what makes
 * concurrent holds safe: the row lock serialises them and the WHERE re-checks after the wait)
 * and by the table's CHECK constraint, as a backstop.
 */
import type { Queryable } from '@patungan/db';
import { SettlementError, notFound } from './errors.ts';
import { enqueueStockEvents, type StockEvent } from './outbox.ts';

type Reason = StockEvent['reason'];

interface StockRow {
  store_id: string;
  sku: string;
  on_hand: number;
  held: number;
  committed: number;
  version: number;
}

interface Delta {
  storeId: string;
  sku: string;
  dOnHand: number;
  dHeld: number;
  dCommitted: number;
}

function event(r: StockRow, reason: Reason, now: Date): Omit<StockEvent, 'type'> {
  return {
    storeId: r.store_id,
    sku: r.sku,
    onHand: r.on_hand,
    held: r.held,
    committed: r.committed,
    available: r.on_hand - r.held - r.committed,
    reason,
    version: r.version,
    at: now.toISOString(),
  };
}

async function writeLedger(tx: Queryable, deltas: Delta[], reason: Reason, ref: string, now: Date) {
  if (deltas.length === 0) return;
  await tx.query(
    `INSERT INTO stock_ledger (store_id, sku, d_on_hand, d_held, d_committed, reason, ref, at)
     SELECT "storeId", sku, "dOnHand", "dHeld", "dCommitted", $2, $3, $4
     FROM jsonb_to_recordset($1::text::jsonb)
       AS x("storeId" text, sku text, "dOnHand" integer, "dHeld" integer, "dCommitted" integer)`,
    [JSON.stringify(deltas), reason, ref, now],
  );
}

async function apply(tx: Queryable, d: Delta, now: Date): Promise<StockRow> {
  const [row] = await tx.query<StockRow>(
    `UPDATE stock SET on_hand = on_hand + $3, held = held + $4, committed = committed + $5,
       version = version + 1, updated_at = $6
     WHERE store_id = $1 AND sku = $2
     RETURNING store_id, sku, on_hand, held, committed, version`,
    [d.storeId, d.sku, d.dOnHand, d.dHeld, d.dCommitted, now],
  );
  if (!row) throw new Error(`stock row ${d.storeId}/${d.sku} vanished`);
  return row;
}

export interface Short {
  sku: string;
  wanted: number;
  available: number;
}

/**
 * Placeholders of the settlement's creating statement (flow/create.ts) that the hold step
 * reads, e.g. `{ store: '$6', want: '$7', … }`.
 */
export interface HoldParams {
  /** The pickup store's id. */
  store: string;
  /** `[{sku, qty}]` as JSON text: one entry per sku, sorted by sku. */
  want: string;
  /** The settlement's id (the holds' and ledger entries' `ref`). */
  settlement: string;
  /** The hold's expiry (timestamptz). */
  expiresAt: string;
  /** Now (timestamptz), and the same as ISO text for the events' `at`. */
  now: string;
  nowIso: string;
}

/**
 * The hold step ("hold every line at the store, or none") as common table expressions of the
 * settlement's creating statement, so that holding takes no round trip of its own:
 *
 * - `want (sku, qty)`; `avail (sku)`: the store's stock rows of the wanted skus that can take
 *   their quantity, locked in sku order (`FOR UPDATE`, so two holds never wait on each other's
 *   rows in opposite orders; a hold that waited re-checks against what the other committed).
 *   Every line can be held exactly when `avail` has as many rows as `want`;
 * - `held`: only when the caller's `gate` CTE has a row (it claims the idempotency key, and
 *   only when every line can be held), the guarded update of those rows — the WHERE re-checks
 *   on_hand − held − committed ≥ qty, the table's CHECK is the backstop — returning the new
 *   levels;
 * - `hold_rows`, `hold_ledger`: the holds and their ledger entries (reason `hold`);
 * - `stockEvents`: a SELECT of the stock events (`ord` 1, `k` = sku) for the caller's outbox
 *   insert.
 *
 * On a shortage nothing is written: `shortage()` then names what is short.
 */
export function holdSql(p: HoldParams, gate: string) {
  return {
    lock: `want AS (
    SELECT sku, qty FROM jsonb_to_recordset(${p.want}::text::jsonb) AS x(sku text, qty integer)
  ), avail AS (
    SELECT s.sku FROM stock s JOIN want w ON w.sku = s.sku
    WHERE s.store_id = ${p.store} AND s.on_hand - s.held - s.committed >= w.qty
    ORDER BY s.sku FOR UPDATE OF s
  )`,
    hold: `held AS (
    UPDATE stock s SET held = s.held + w.qty, version = s.version + 1, updated_at = ${p.now}
    FROM want w, ${gate}
    WHERE s.store_id = ${p.store} AND s.sku = w.sku AND s.on_hand - s.held - s.committed >= w.qty
    RETURNING s.store_id, s.sku, s.on_hand, s.held, s.committed, s.version, w.qty
  ), hold_rows AS (
    INSERT INTO holds (settlement_id, store_id, sku, qty, status, expires_at, created_at)
    SELECT ${p.settlement}, store_id, sku, qty, 'held', ${p.expiresAt}, ${p.now} FROM held ORDER BY sku
  ), hold_ledger AS (
    INSERT INTO stock_ledger (store_id, sku, d_on_hand, d_held, d_committed, reason, ref, at)
    SELECT store_id, sku, 0, qty, 0, 'hold', ${p.settlement}, ${p.now} FROM held ORDER BY sku
  )`,
    stockEvents: `SELECT 1 AS ord, h.sku AS k, 'stock' AS topic, h.store_id, NULL::text AS room_id,
      jsonb_build_object('type', 'stock', 'storeId', h.store_id, 'sku', h.sku, 'onHand', h.on_hand,
        'held', h.held, 'committed', h.committed, 'available', h.on_hand - h.held - h.committed,
        'reason', 'hold', 'version', h.version, 'at', ${p.nowIso}::text) AS payload,
      NULL::timestamptz AS published_at, ${p.now}::timestamptz AS delivered_at
    FROM held h`,
  };
}

/**
 * The refusal of a hold that could not take every line: `409 insufficient_stock` naming each
 * short sku with what is left (read now; the hold wrote nothing). Null when nothing is short
 * any more (units went back on sale meanwhile): the caller tries again.
 */
export async function shortage(
  q: Queryable,
  storeId: string,
  want: readonly { sku: string; qty: number }[],
): Promise<SettlementError | null> {
  const rows = await q.query<{ sku: string; available: number }>(
    `SELECT sku, on_hand - held - committed AS available FROM stock
     WHERE store_id = $1 AND sku = ANY($2::text[])`,
    [storeId, want.map((w) => w.sku)],
  );
  const have = new Map(rows.map((r) => [r.sku, r.available]));
  const short: Short[] = want
    .filter((w) => (have.get(w.sku) ?? 0) < w.qty)
    .map((w) => ({ sku: w.sku, wanted: w.qty, available: Math.max(0, have.get(w.sku) ?? 0) }));
  if (short.length === 0) return null;
  return new SettlementError(
    409,
    'insufficient_stock',
    `The store cannot hold ${short.map((s) => `${s.wanted} × ${s.sku} (${s.available} left)`).join(', ')}`,
    { short, storeId },
  );
}

type HoldStatus = 'held' | 'committed' | 'released' | 'expired' | 'sold';

const MOVES: Record<
  'release' | 'expire' | 'commit' | 'sale' | 'unreserve',
  {
    from: HoldStatus;
    to: HoldStatus;
    reason: Reason;
    delta: (q: number) => [number, number, number];
  }
> = {
  // held → gone back to the shelf
  release: { from: 'held', to: 'released', reason: 'release', delta: (q) => [0, -q, 0] },
  expire: { from: 'held', to: 'expired', reason: 'release', delta: (q) => [0, -q, 0] },
  // paid: held → committed (still on the shelf, no longer sellable)
  commit: { from: 'held', to: 'committed', reason: 'commit', delta: (q) => [0, -q, q] },
  // picked up: committed units leave the store
  sale: { from: 'committed', to: 'sold', reason: 'sale', delta: (q) => [-q, 0, -q] },
  // a paid order cancelled: committed units go back on sale
  unreserve: { from: 'committed', to: 'released', reason: 'release', delta: (q) => [0, 0, -q] },
};

/**
 * Moves every hold of the given settlements from one state to the next, with ledger entries
 * (one per hold, `ref` = its settlement) and one event per stock row touched. Set-based and
 * one statement whatever the batch (the worker expires hundreds of settlements at once). Stock
 * rows are locked in (store, sku) order — the order holds and the CSV import take them in —
 * so no deadlock, then updated by the sum of their holds' quantities.
 */
export async function moveHolds(
  tx: Queryable,
  settlementIds: string | readonly string[],
  move: keyof typeof MOVES,
  now: Date,
): Promise<number> {
  const m = MOVES[move];
  const ids = typeof settlementIds === 'string' ? [settlementIds] : [...settlementIds];
  if (ids.length === 0) return 0;
  // every move changes the counts linearly in the quantity: its change for one unit
  const [dOnHand, dHeld, dCommitted] = m.delta(1);
  const [r] = await tx.query<{ n: number }>(
    `WITH moved AS (
       UPDATE holds SET status = $3, ended_at = $4
       WHERE settlement_id = ANY($1::text[]) AND status = $2
       RETURNING settlement_id, store_id, sku, qty
     ), d AS (
       SELECT store_id, sku, sum(qty)::integer AS qty FROM moved GROUP BY store_id, sku
     ), locked AS (
       SELECT s.store_id, s.sku FROM stock s JOIN d ON d.store_id = s.store_id AND d.sku = s.sku
       ORDER BY s.store_id, s.sku FOR UPDATE OF s
     ), levels AS (
       UPDATE stock s SET on_hand = s.on_hand + $5 * d.qty, held = s.held + $6 * d.qty,
         committed = s.committed + $7 * d.qty, version = s.version + 1, updated_at = $4
       FROM locked l JOIN d ON d.store_id = l.store_id AND d.sku = l.sku
       WHERE s.store_id = l.store_id AND s.sku = l.sku
       RETURNING s.store_id, s.sku, s.on_hand, s.held, s.committed, s.version
     ), ledger AS (
       INSERT INTO stock_ledger (store_id, sku, d_on_hand, d_held, d_committed, reason, ref, at)
       SELECT store_id, sku, $5 * qty, $6 * qty, $7 * qty, $8, settlement_id, $4
       FROM moved ORDER BY settlement_id, sku
     ), events AS (
       INSERT INTO outbox (topic, store_id, payload, created_at, delivered_at)
       SELECT 'stock', store_id, jsonb_build_object('type', 'stock', 'storeId', store_id, 'sku', sku,
           'onHand', on_hand, 'held', held, 'committed', committed,
           'available', on_hand - held - committed, 'reason', $8::text, 'version', version,
           'at', $9::text),
         $4, $4
       FROM levels ORDER BY store_id, sku
     )
     SELECT count(*)::integer AS n FROM moved`,
    [ids, m.from, m.to, now, dOnHand, dHeld, dCommitted, m.reason, now.toISOString()],
  );
  return r?.n ?? 0;
}

export interface StockLevel {
  storeId: string;
  sku: string;
  onHand: number;
  held: number;
  committed: number;
  available: number;
}

const level = (r: StockRow): StockLevel => ({
  storeId: r.store_id,
  sku: r.sku,
  onHand: r.on_hand,
  held: r.held,
  committed: r.committed,
  available: r.on_hand - r.held - r.committed,
});

/** Staff sets the on-hand count; never below what is held or committed (409). */
export async function setOnHand(
  tx: Queryable,
  o: { storeId: string; sku: string; onHand: number; by: string; now: Date },
): Promise<StockLevel> {
  const [store] = await tx.query('SELECT 1 FROM stores WHERE id = $1', [o.storeId]);
  if (!store) throw notFound(`Store ${o.storeId}`, 'unknown_store');
  const [product] = await tx.query('SELECT 1 FROM products WHERE sku = $1', [o.sku]);
  if (!product) throw notFound(`Product ${o.sku}`, 'unknown_sku');
  await tx.query(
    `INSERT INTO stock (store_id, sku, on_hand, updated_at) VALUES ($1, $2, 0, $3)
     ON CONFLICT (store_id, sku) DO NOTHING`,
    [o.storeId, o.sku, o.now],
  );
  const [cur] = await tx.query<StockRow>(
    `SELECT store_id, sku, on_hand, held, committed, version FROM stock
     WHERE store_id = $1 AND sku = $2 FOR UPDATE`,
    [o.storeId, o.sku],
  );
  if (!cur) throw notFound(`Stock ${o.storeId}/${o.sku}`);
  if (o.onHand < cur.held + cur.committed) {
    throw new SettlementError(
      409,
      'below_reserved',
      `On-hand stock cannot go below ${cur.held + cur.committed} (${cur.held} held, ${cur.committed} committed)`,
      { held: cur.held, committed: cur.committed },
    );
  }
  const d = {
    storeId: o.storeId,
    sku: o.sku,
    dOnHand: o.onHand - cur.on_hand,
    dHeld: 0,
    dCommitted: 0,
  };
  if (d.dOnHand === 0) return level(cur);
  const row = await apply(tx, d, o.now);
  await writeLedger(tx, [d], 'adjust', `staff:${o.by}`, o.now);
  await enqueueStockEvents(tx, [event(row, 'adjust', o.now)], o.now);
  return level(row);
}

export async function storeStock(q: Queryable, storeId: string): Promise<StockLevel[]> {
  const rows = await q.query<StockRow>(
    `SELECT store_id, sku, on_hand, held, committed, version FROM stock WHERE store_id = $1 ORDER BY sku`,
    [storeId],
  );
  return rows.map(level);
}

/**
 * Staff set several on-hand counts at once (the CSV import). The caller has locked the rows
 * (`SELECT … FOR UPDATE`, in sku order) and checked each new count against held + committed;
 * this moves them with one ledger entry (`adjust`) and one event per sku.
 */
export async function adjustOnHand(
  tx: Queryable,
  o: { storeId: string; changes: { sku: string; dOnHand: number }[]; by: string; now: Date },
): Promise<StockLevel[]> {
  const deltas = o.changes
    .filter((c) => c.dOnHand !== 0)
    .sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0))
    .map((c) => ({ storeId: o.storeId, sku: c.sku, dOnHand: c.dOnHand, dHeld: 0, dCommitted: 0 }));
  const rows: StockRow[] = [];
  for (const d of deltas) rows.push(await apply(tx, d, o.now));
  await writeLedger(tx, deltas, 'adjust', `staff:${o.by}`, o.now);
  await enqueueStockEvents(
    tx,
    rows.map((r) => event(r, 'adjust', o.now)),
    o.now,
  );
  return rows.map(level);
}
