/**
 * One tiny query interface over two drivers: PGlite (Postgres compiled to WASM, embedded
 * mode) and PostgreSQL through postgres.js (scaled mode). Both speak the same SQL dialect,
 * so every statement in this package runs unchanged on either.
 *
 * Conventions that keep the drivers interchangeable:
 * - bigint / count(*) come back as JS numbers (both drivers get an int8 parser);
 * - JSON parameters are passed as strings and cast `$n::text::jsonb` (postgres.js would
 *   otherwise encode a string parameter typed jsonb a second time);
 * - timestamps are passed as Date or ISO strings and come back as Date.
 */
export type Row = Record<string, unknown>;

export interface Queryable {
  query<T = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /**
   * Runs `fn` in one transaction: committed when it resolves, rolled back when it throws.
   * PGlite has a single connection, so its transactions (and any query issued meanwhile)
   * run one at a time; PostgreSQL runs them on a pool in parallel.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface DbOptions {
  /** PostgreSQL connection string; when unset, PGlite is used. */
  databaseUrl?: string;
  /** PGlite data directory; unset = in memory. */
  dataDir?: string;
  /** postgres.js pool size (default 10). */
  poolSize?: number;
}

export async function openDb(opts: DbOptions): Promise<Db> {
  if (opts.databaseUrl) {
    const { openPostgres } = await import('./postgres.ts');
    return openPostgres(opts.databaseUrl, opts.poolSize ?? 10);
  }
  const { openPglite } = await import('./pglite.ts');
  return openPglite(opts.dataDir);
}
