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
 * Holds every line at the store, or none: on any shortage it throws `409 insufficient_stock`
 * naming each short sku, and the caller's transaction rolls back the lines already held.
 * Lines are taken in sku order so two holds never wait on each other's rows (no deadlock).
 */
export async function holdLines(
  tx: Queryable,
  o: {
    settlementId: string;
    storeId: string;
    lines: { sku: string; qty: number }[];
    expiresAt: Date;
    now: Date;
  },
): Promise<void> {
  const wanted = new Map<string, number>();
  for (const l of o.lines) wanted.set(l.sku, (wanted.get(l.sku) ?? 0) + l.qty);
  const skus = [...wanted.keys()].sort();
  const short: Short[] = [];
  const rows: StockRow[] = [];
  for (const sku of skus) {
    const qty = wanted.get(sku)!;
    const [row] = await tx.query<StockRow>(
      `UPDATE stock SET held = held + $3, version = version + 1, updated_at = $4
       WHERE store_id = $1 AND sku = $2 AND on_hand - held - committed >= $3
       RETURNING store_id, sku, on_hand, held, committed, version`,
      [o.storeId, sku, qty, o.now],
    );
    if (row) {
      rows.push(row);
      continue;
    }
    const [cur] = await tx.query<{ available: number }>(
      'SELECT on_hand - held - committed AS available FROM stock WHERE store_id = $1 AND sku = $2',
      [o.storeId, sku],
    );
    short.push({ sku, wanted: qty, available: Math.max(0, cur?.available ?? 0) });
  }
  if (short.length > 0) {
    throw new SettlementError(
      409,
      'insufficient_stock',
      `The store cannot hold ${short.map((s) => `${s.wanted} × ${s.sku} (${s.available} left)`).join(', ')}`,
      { short, storeId: o.storeId },
    );
  }
  const deltas = skus.map((sku) => ({
    storeId: o.storeId,
    sku,
    dOnHand: 0,
    dHeld: wanted.get(sku)!,
    dCommitted: 0,
  }));
  await writeLedger(tx, deltas, 'hold', o.settlementId, o.now);
  await tx.query(
    `INSERT INTO holds (settlement_id, store_id, sku, qty, status, expires_at, created_at)
     SELECT $1, $2, sku, qty, 'held', $3, $4 FROM jsonb_to_recordset($5::text::jsonb) AS x(sku text, qty integer)`,
    [
      o.settlementId,
      o.storeId,
      o.expiresAt,
      o.now,
      JSON.stringify(skus.map((sku) => ({ sku, qty: wanted.get(sku) }))),
    ],
  );
  await enqueueStockEvents(
    tx,
    rows.map((r) => event(r, 'hold', o.now)),
    o.now,
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
 * (one per hold, `ref` = its settlement) and one event per stock row touched. Set-based, so
 * the worker can expire a whole batch in a handful of statements. Stock rows are updated in
 * (store, sku) order — the same order holdLines takes them in — so no deadlock.
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
  const holds = await tx.query<{
    settlement_id: string;
    store_id: string;
    sku: string;
    qty: number;
  }>(
    `UPDATE holds SET status = $3, ended_at = $4 WHERE settlement_id = ANY($1::text[]) AND status = $2
     RETURNING settlement_id, store_id, sku, qty`,
    [ids, m.from, m.to, now],
  );
  const byRow = new Map<string, Delta>();
  const ledger: (Delta & { ref: string })[] = [];
  for (const h of holds) {
    const [dOnHand, dHeld, dCommitted] = m.delta(h.qty);
    ledger.push({
      storeId: h.store_id,
      sku: h.sku,
      dOnHand,
      dHeld,
      dCommitted,
      ref: h.settlement_id,
    });
    const key = `${h.store_id}\u0000${h.sku}`;
    const d = byRow.get(key) ?? {
      storeId: h.store_id,
      sku: h.sku,
      dOnHand: 0,
      dHeld: 0,
      dCommitted: 0,
    };
    d.dOnHand += dOnHand;
    d.dHeld += dHeld;
    d.dCommitted += dCommitted;
    byRow.set(key, d);
  }
  const rows: StockRow[] = [];
  for (const key of [...byRow.keys()].sort()) rows.push(await apply(tx, byRow.get(key)!, now));
  if (ledger.length > 0) {
    await tx.query(
      `INSERT INTO stock_ledger (store_id, sku, d_on_hand, d_held, d_committed, reason, ref, at)
       SELECT "storeId", sku, "dOnHand", "dHeld", "dCommitted", $2, ref, $3
       FROM jsonb_to_recordset($1::text::jsonb)
         AS x("storeId" text, sku text, "dOnHand" integer, "dHeld" integer, "dCommitted" integer, ref text)`,
      [JSON.stringify(ledger), m.reason, now],
    );
  }
  await enqueueStockEvents(
    tx,
    rows.map((r) => event(r, m.reason, now)),
    now,
  );
  return holds.length;
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
