/**
 * PostgreSQL native logical replication between the central database and each region's
 * (docs/settlement.md "Regions"). No replication code of our own: these functions only create
 * publications and subscriptions, idempotently, after the migrations.
 *
 * - central publishes `patungan_catalog` (stores, products); every region subscribes to it as
 *   `patungan_catalog_<slug>` (copy_data: a new region gets the whole catalog first). A region
 *   never writes these tables: it sells from its replica while central is down.
 * - each region publishes `patungan_sales` (its stock, ledger, holds, settlements, payments,
 *   orders); central subscribes to each as `patungan_sales_<slug>`. The rows of different
 *   regions never meet: their stores differ, their ids carry the region's code and the two
 *   sequences a region draws from (stock_ledger, holds) start at a range of its own.
 *
 * CREATE SUBSCRIPTION may not run inside a transaction block, so this runs after the
 * migration runner's transaction, as single statements; a subscription that exists already is
 * left alone (two processes starting together: the loser sees the winner's).
 */
import type { Db } from '@patungan/db';
import { PICKUP_ALPHABET } from './ids.ts';

export const CATALOG_PUBLICATION = 'patungan_catalog';
export const SALES_PUBLICATION = 'patungan_sales';
export const CATALOG_TABLES = ['stores', 'products'] as const;
/** A region's own tables that central keeps a copy of (for reports and as the backup). */
export const SALES_TABLES = [
  'stock',
  'stock_ledger',
  'holds',
  'settlements',
  'settlement_lines',
  'payments',
  'payment_attempts',
  'orders',
] as const;

const ident = (s: string) => s.replace(/-/g, '_').slice(0, 40);
export const catalogSubscription = (slug: string) => `patungan_catalog_${ident(slug)}`;
export const salesSubscription = (slug: string) => `patungan_sales_${ident(slug)}`;

const pgCode = (err: unknown) => (err as { code?: unknown } | null)?.code;

/** Creates publication `name` for `tables` unless it exists. Returns whether it created it. */
export async function ensurePublication(
  db: Db,
  name: string,
  tables: readonly string[],
): Promise<boolean> {
  const [have] = await db.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [name]);
  if (have) return false;
  try {
    await db.exec(`CREATE PUBLICATION ${name} FOR TABLE ${tables.join(', ')}`);
    return true;
  } catch (err) {
    if (pgCode(err) === '42710') return false; // created meanwhile by another process
    throw err;
  }
}

async function hasSubscription(db: Db, name: string): Promise<boolean> {
  const [have] = await db.query(
    `SELECT 1 FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid
     WHERE s.subname = $1 AND d.datname = current_database()`,
    [name],
  );
  return Boolean(have);
}

/**
 * Subscribes `db` to `publication` on the server at `publisherUrl` (a URL the *database
 * server* can reach) unless subscription `name` exists. Returns whether it created it.
 */
export async function ensureSubscription(
  db: Db,
  name: string,
  publisherUrl: string,
  publication: string,
): Promise<boolean> {
  if (await hasSubscription(db, name)) return false;
  const conn = publisherUrl.replace(/'/g, "''");
  const create = (more = '') =>
    db.exec(
      `CREATE SUBSCRIPTION ${name} CONNECTION '${conn}' PUBLICATION ${publication} WITH (copy_data = true${more})`,
    );
  try {
    await create();
    return true;
  } catch (err) {
    if (await hasSubscription(db, name)) return false; // another process won the race
    // The publisher still has the slot (a subscriber restored or re-created): take it over.
    if (/replication slot .* already exists/.test(String((err as Error).message))) {
      await create(`, create_slot = false, slot_name = '${name}'`);
      return true;
    }
    throw err;
  }
}

/**
 * A region draws `stock_ledger` and `holds` ids from a range of its own (code number × 2³²),
 * so the rows of every region fit side by side in central's copy. Idempotent.
 */
export async function offsetSequences(db: Db, code: string): Promise<void> {
  let n = 0;
  for (const ch of code) n = n * PICKUP_ALPHABET.length + PICKUP_ALPHABET.indexOf(ch);
  const base = String((n + 1) * 2 ** 32);
  for (const seq of ['stock_ledger_id_seq', 'holds_id_seq']) {
    await db.query(
      `SELECT setval($1::text::regclass, $2::bigint) FROM pg_sequences
       WHERE schemaname = current_schema() AND sequencename = $3::text
         AND coalesce(last_value, 0) < $2::bigint`,
      [seq, base, seq],
    );
  }
}
