/**
 * A store's stock as CSV, for staff: export every product with its counts, and import a file
 * of `sku,on_hand` rows (any other column, such as the export's, is ignored, so an export
 * round-trips). An import is first a dry run: the diff sku by sku (before → after on hand) and
 * every row that cannot be applied. Applying takes the same file and writes all of it or, if
 * any row is refused, nothing; it locks the store's rows it changes (in sku order, like a
 * hold) and checks each new count against held + committed under that lock, so a hold that
 * lands between the dry run and the apply is never undercut.
 */
import { parse as parseCsv, CsvError } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import type { StockImportResult, StockImportRowError } from '@patungan/model/contracts';
import type { Queryable } from '@patungan/db';
import { SettlementError } from './errors.ts';
import { adjustOnHand } from './stock.ts';

/** Rows one import may carry (a store lists at most the catalog). */
export const MAX_IMPORT_ROWS = 20_000;
/** The largest on-hand count a row may say (as `PUT /stores/<id>/stock/<sku>`). */
export const MAX_ON_HAND = 1_000_000;

export const EXPORT_COLUMNS = ['sku', 'name', 'on_hand', 'held', 'committed', 'available'];

interface Level {
  sku: string;
  name: string;
  on_hand: number;
  held: number;
  committed: number;
  /** false: the store has no stock row for this product yet (it counts as 0). */
  stocked: boolean;
}

/** Every product with the store's counts (0 where it has none), by sku. */
async function levels(db: Queryable, storeId: string, skus?: string[]): Promise<Level[]> {
  return db.query<Level>(
    `SELECT p.sku, p.name, coalesce(s.on_hand, 0) AS on_hand, coalesce(s.held, 0) AS held,
       coalesce(s.committed, 0) AS committed, s.sku IS NOT NULL AS stocked
     FROM products p LEFT JOIN stock s ON s.sku = p.sku AND s.store_id = $1
     ${skus ? 'WHERE p.sku = ANY($2::text[])' : ''} ORDER BY p.sku`,
    skus ? [storeId, skus] : [storeId],
  );
}

/** The export: a header row, then every product; a BOM so spreadsheets read it as UTF-8. */
export async function exportStockCsv(db: Queryable, storeId: string): Promise<string> {
  const rows = (await levels(db, storeId)).map((l) => [
    l.sku,
    l.name,
    l.on_hand,
    l.held,
    l.committed,
    l.on_hand - l.held - l.committed,
  ]);
  return stringify([EXPORT_COLUMNS, ...rows], { bom: true, record_delimiter: 'windows' });
}

interface Wanted {
  row: number;
  sku: string;
  onHand: number;
}

/**
 * Reads the file: header (case-insensitive `sku` and `on_hand`, a BOM tolerated), then one
 * sku per row. A file that cannot be read at all is `400`; a row that is wrong is an entry of
 * the error list (its `row` counts the header as row 1, as a spreadsheet does).
 */
export function readStockCsv(csv: string): {
  rows: number;
  wanted: Wanted[];
  errors: StockImportRowError[];
} {
  let records: string[][];
  try {
    records = parseCsv(csv, {
      bom: true,
      trim: true,
      relax_column_count: true,
      skip_empty_lines: false,
    }) as string[][];
  } catch (err) {
    if (err instanceof CsvError) {
      throw new SettlementError(400, 'invalid_request', `csv: ${err.message}`, {
        issues: [{ field: 'csv', message: err.message }],
      });
    }
    throw err;
  }
  const bad = (message: string) =>
    new SettlementError(400, 'invalid_request', `csv: ${message}`, {
      issues: [{ field: 'csv', message }],
    });
  const header = (records[0] ?? []).map((h) => h.toLowerCase().replace(/[\s-]/g, '_'));
  const skuAt = header.indexOf('sku');
  const onHandAt = header.findIndex((h) => h === 'on_hand' || h === 'onhand');
  if (skuAt < 0 || onHandAt < 0) {
    throw bad('the first row must be a header naming the columns sku and on_hand');
  }
  if (records.length - 1 > MAX_IMPORT_ROWS) {
    throw bad(`at most ${MAX_IMPORT_ROWS} rows per file`);
  }
  const wanted: Wanted[] = [];
  const errors: StockImportRowError[] = [];
  const seen = new Map<string, number>();
  let rows = 0;
  records.slice(1).forEach((rec, i) => {
    const row = i + 2;
    if (rec.every((f) => f === '')) return; // an empty line
    rows++;
    const sku = rec[skuAt] ?? '';
    const raw = rec[onHandAt] ?? '';
    if (!sku) {
      errors.push({ row, code: 'missing_sku', message: `Row ${row} has no sku` });
      return;
    }
    const first = seen.get(sku);
    if (first !== undefined) {
      errors.push({
        row,
        sku,
        code: 'duplicate_sku',
        message: `${sku} is already on row ${first}`,
      });
      return;
    }
    seen.set(sku, row);
    if (!/^[+-]?\d+$/.test(raw)) {
      errors.push({
        row,
        sku,
        code: 'not_an_integer',
        message: `on_hand "${raw}" of ${sku} is not a whole number`,
      });
      return;
    }
    const onHand = Number(raw);
    if (onHand < 0) {
      errors.push({ row, sku, code: 'negative', message: `on_hand of ${sku} is negative` });
      return;
    }
    if (onHand > MAX_ON_HAND) {
      errors.push({
        row,
        sku,
        code: 'too_large',
        message: `on_hand of ${sku} is more than ${MAX_ON_HAND}`,
      });
      return;
    }
    wanted.push({ row, sku, onHand });
  });
  return { rows, wanted, errors };
}

/**
 * The diff of a file against the store's stock, and its row errors. With `apply`, in the
 * caller's transaction: the rows are locked first, and if no row is refused every change is
 * written.
 */
export async function importStockCsv(
  tx: Queryable,
  o: { storeId: string; csv: string; apply: boolean; by: string; now: Date },
): Promise<StockImportResult> {
  const { rows, wanted, errors } = readStockCsv(o.csv);
  const skus = wanted.map((w) => w.sku).sort();
  if (o.apply && skus.length > 0) {
    // Lock the rows this file names, in sku order (holds take them in the same order: no
    // deadlock); a hold waiting on one re-checks its guard against the new count after.
    await tx.query(
      'SELECT 1 FROM stock WHERE store_id = $1 AND sku = ANY($2::text[]) ORDER BY sku FOR UPDATE',
      [o.storeId, skus],
    );
  }
  const now = new Map((await levels(tx, o.storeId, skus)).map((l) => [l.sku, l]));
  const changes: StockImportResult['changes'] = [];
  let unchanged = 0;
  for (const w of wanted) {
    const cur = now.get(w.sku);
    if (!cur) {
      errors.push({
        row: w.row,
        sku: w.sku,
        code: 'unknown_sku',
        message: `${w.sku} is not a product of the catalog`,
      });
      continue;
    }
    const min = cur.held + cur.committed;
    if (w.onHand < min) {
      errors.push({
        row: w.row,
        sku: w.sku,
        code: 'below_reserved',
        message: `${w.sku} cannot go below ${min} (${cur.held} held, ${cur.committed} committed)`,
        min,
      });
      continue;
    }
    if (w.onHand === cur.on_hand) {
      unchanged++;
      continue;
    }
    changes.push({
      sku: w.sku,
      name: cur.name,
      before: cur.on_hand,
      after: w.onHand,
      held: cur.held,
      committed: cur.committed,
    });
  }
  errors.sort((a, b) => a.row - b.row);
  const result: StockImportResult = {
    dryRun: !o.apply,
    applied: false,
    rows,
    unchanged,
    changes,
    errors,
  };
  if (!o.apply) return result;
  if (errors.length > 0) {
    throw new SettlementError(
      422,
      'invalid_rows',
      `${errors.length} row(s) cannot be applied; nothing was changed`,
      result,
    );
  }
  const missing = changes.filter((c) => !now.get(c.sku)!.stocked).map((c) => c.sku);
  if (missing.length > 0) {
    await tx.query(
      `INSERT INTO stock (store_id, sku, on_hand, updated_at)
       SELECT $1, sku, 0, $3 FROM unnest($2::text[]) AS sku ON CONFLICT (store_id, sku) DO NOTHING`,
      [o.storeId, missing, o.now],
    );
  }
  await adjustOnHand(tx, {
    storeId: o.storeId,
    changes: changes.map((c) => ({ sku: c.sku, dOnHand: c.after - c.before })),
    by: o.by,
    now: o.now,
  });
  return { ...result, applied: true };
}

/** `GET /stores/<id>/stock/low?below=`: stocked skus with available under the threshold. */
export const DEFAULT_LOW_STOCK = 5;

export async function lowStock(db: Queryable, storeId: string, below: number) {
  const rows = await db.query<{
    sku: string;
    name: string;
    on_hand: number;
    held: number;
    committed: number;
  }>(
    `SELECT s.sku, p.name, s.on_hand, s.held, s.committed
     FROM stock s JOIN products p ON p.sku = s.sku
     WHERE s.store_id = $1 AND s.on_hand - s.held - s.committed < $2
     ORDER BY s.on_hand - s.held - s.committed, s.sku`,
    [storeId, below],
  );
  return {
    below,
    items: rows.map((r) => ({
      sku: r.sku,
      name: r.name,
      onHand: r.on_hand,
      held: r.held,
      committed: r.committed,
      available: r.on_hand - r.held - r.committed,
    })),
  };
}
