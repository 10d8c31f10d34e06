/**
 * The one query interface settlement and web run on, over two drivers: PGlite (Postgres
 * compiled to WASM, embedded mode) and PostgreSQL through postgres.js (scaled mode). Both
 * speak the same SQL dialect, so every statement runs unchanged on either; the tests of each
 * part run on both.
 *
 * Conventions that keep the drivers interchangeable:
 * - bigint / count(*) come back as JS numbers (both drivers get an int8 parser);
 * - JSON parameters are passed as strings and cast `$n::text::jsonb` (postgres.js would
 *   otherwise encode a string parameter typed jsonb a second time);
 * - timestamps are passed as Date or ISO strings and come back as Date.
 */
export type Row = Record<string, unknown>;

export interface Queryable {
  /** Runs one parameterised statement (`$1`, `$2`, …) and returns its rows. */
  query<T = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /**
   * Runs `fn` in one READ COMMITTED transaction: committed when it resolves, rolled back when
   * it throws. Callers that change shared rows lock them (`SELECT … FOR UPDATE`, `SKIP LOCKED`
   * for work queues, `pg_advisory_xact_lock`); each statement sees what committed before it.
   * PGlite has a single connection, so its transactions (and any query issued meanwhile) run
   * one at a time; PostgreSQL runs them on a pool in parallel.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface DbOptions {
  /** PostgreSQL connection string; when unset (or empty), PGlite is used. */
  databaseUrl?: string | undefined;
  /** PGlite data directory; unset or `memory://…` = in memory. */
  dataDir?: string | undefined;
  /** postgres.js pool size (default 10). */
  poolSize?: number;
  /**
   * PostgreSQL: seconds to wait for a connection before the query fails (postgres.js's
   * default is 30). A region's database uses a short one, so that a region that is down
   * answers at once rather than after half a minute.
   */
  connectTimeoutSeconds?: number;
  /**
   * Unqualified names resolve in this schema only (it is created when missing): tests give
   * each case its own schema of one database. Unset: the server's default (`public`).
   */
  schema?: string;
}

/** A lower-case SQL identifier, safe to splice into a statement unquoted. */
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** Throws unless `name` is a plain lower-case identifier (schema and table names). */
export function checkIdentifier(what: string, name: string): string {
  if (!IDENTIFIER.test(name)) {
    throw new Error(`${what} "${name}" must be a lower-case SQL identifier ([a-z_][a-z0-9_]*)`);
  }
  return name;
}

export async function openDb(opts: DbOptions): Promise<Db> {
  if (opts.schema !== undefined) checkIdentifier('schema', opts.schema);
  // Each driver is loaded only when used: an embedded process never loads postgres.js.
  if (opts.databaseUrl) {
    const { openPostgres } = await import('./postgres.ts');
    return openPostgres(opts.databaseUrl, {
      max: opts.poolSize ?? 10,
      schema: opts.schema,
      connectTimeout: opts.connectTimeoutSeconds,
    });
  }
  const { openPglite } = await import('./pglite.ts');
  return openPglite(opts.dataDir, { schema: opts.schema });
}
