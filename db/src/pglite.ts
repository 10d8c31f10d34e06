/**
 * The PGlite driver (embedded mode): Postgres in WASM, in memory or in a data directory that
 * only the service's user can read (docs/security.md).
 *
 * Statements are prepared (docs/decisions/0021): PGlite's own `query` sends every call as an
 * unnamed Parse, Describe, Bind, Describe, Execute, Sync — six calls into the WASM module, and
 * Postgres parses, analyses and plans the text each time, which was most of a settlement's
 * CPU. Here a statement text is parsed once per database as a named statement, and each call
 * is one batch of Bind, Describe, Execute, Sync. Parameters are serialised by the types the
 * server inferred and rows parsed with PGlite's own serialisers and parsers, so values go in
 * and come out exactly as through `query`.
 */
import { mkdirSync } from 'node:fs';
import { PGlite, parse, protocol } from '@electric-sql/pglite';
import type { Db } from './driver.ts';
import { makePrivate } from './private-dir.ts';

const INT8 = 20;
const { serialize } = protocol;
type Messages = Awaited<ReturnType<PGlite['execProtocolStream']>>;

/**
 * Named statements kept per database. Statement texts are constants of the code (product
 * search has a bounded number of variants); the bound only matters for ad-hoc texts (tests,
 * scripts): the least recently prepared is closed first.
 */
const MAX_PREPARED = 500;

export interface PgliteOptions {
  /** See DbOptions.schema (already checked to be an identifier). */
  schema?: string | undefined;
  /** Named statements kept (default MAX_PREPARED). */
  maxPrepared?: number | undefined;
}

interface Prepared {
  name: string;
  /** The parameters' type oids, as the server inferred them (ParameterDescription). */
  types: number[];
}

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const SYNC = serialize.sync();
const DESCRIBE_PORTAL = serialize.describe({ type: 'P' });
const EXECUTE = serialize.execute({});

/** Statements that drop named statements: the driver forgets its own after running one. */
const FORGETS = /\b(deallocate|discard)\b/i;

/**
 * SQLSTATEs after which a cached statement is prepared again and the call retried once:
 * 26000 — the named statement is gone (deallocated by something other than FORGETS saw);
 * 0A000 — "cached plan must not change result type" (a table the statement reads with `*`
 * changed shape after a migration). Both are raised before the statement executes.
 */
const STALE = new Set(['26000', '0A000']);

/** Opens PGlite in `dataDir` (created 0700 when missing); unset or `memory://…`: in memory. */
export async function openPglite(dataDir?: string, o: PgliteOptions = {}): Promise<Db> {
  const dir = dataDir && !dataDir.startsWith('memory://') ? dataDir : undefined;
  if (dir) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    makePrivate(dir);
  }
  const pg = await PGlite.create({
    ...(dir ? { dataDir: dir } : {}),
    parsers: { [INT8]: (x: string) => Number(x) },
  });
  if (dir) makePrivate(dir);
  if (o.schema) {
    // one connection: the session's search_path holds for every later query
    try {
      await pg.exec(`CREATE SCHEMA IF NOT EXISTS ${o.schema}; SET search_path TO ${o.schema}`);
    } catch (err) {
      await pg.close();
      throw err;
    }
  }

  const maxPrepared = Math.max(1, o.maxPrepared ?? MAX_PREPARED);
  const prepared = new Map<string, Prepared>();
  let nextName = 0;
  const send = (parts: Uint8Array[]): Promise<Messages> =>
    pg.execProtocolStream(concat(parts), { syncToFs: false });

  async function prepare(sql: string): Promise<Prepared> {
    const hit = prepared.get(sql);
    if (hit) return hit;
    if (prepared.size >= maxPrepared) {
      const [oldest, p] = prepared.entries().next().value as [string, Prepared];
      prepared.delete(oldest);
      await send([serialize.close({ type: 'S', name: p.name }), SYNC]);
    }
    const name = `p${nextName++}`;
    const messages = await send([
      serialize.parse({ name, text: sql }),
      serialize.describe({ type: 'S', name }),
      SYNC,
    ]);
    const p = { name, types: parse.parseDescribeStatementResults(messages) };
    prepared.set(sql, p);
    return p;
  }

  async function run<T>(sql: string, params: readonly unknown[], retried = false): Promise<T[]> {
    const p = await prepare(sql);
    const values = params.map((v, i) => {
      if (v === null || v === undefined) return null;
      const ser = pg.serializers[p.types[i]!];
      return ser ? ser(v) : String(v);
    });
    let messages: Messages;
    try {
      messages = await send([
        serialize.bind({ statement: p.name, values }),
        DESCRIBE_PORTAL,
        EXECUTE,
        SYNC,
      ]);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code && STALE.has(code) && prepared.get(sql) === p) {
        prepared.delete(sql);
        // in a transaction the error has aborted it: the caller's retry prepares again
        if (!pg.isInTransaction()) {
          await send([serialize.close({ type: 'S', name: p.name }), SYNC]);
          if (!retried) return run(sql, params, true);
        }
      }
      throw err;
    }
    return parse.parseResults(messages, pg.parsers)[0]!.rows as T[];
  }

  /** One statement, as PGlite's `query` runs it (same errors: the text and params attached). */
  async function query<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    try {
      return await pg._runExclusiveQuery(() => run<T>(sql, params));
    } catch (err) {
      if (err && typeof err === 'object' && 'severity' in err) {
        Object.assign(err, { query: sql, params });
      }
      throw err;
    } finally {
      if (FORGETS.test(sql)) prepared.clear();
    }
  }

  return {
    kind: 'pglite',
    // like PGlite's `query`: waits for a running transaction, then syncs the files
    query: async <T>(sql: string, params?: readonly unknown[]) => {
      await pg._checkReady();
      return pg._runExclusiveTransaction(async () => {
        const rows = await query<T>(sql, params);
        await pg.syncToFs();
        return rows;
      });
    },
    exec: async (sql) => {
      try {
        await pg.exec(sql);
      } finally {
        if (FORGETS.test(sql)) prepared.clear();
      }
    },
    // PGlite queues every query behind a running transaction, so this is already serialised
    // (and READ COMMITTED, Postgres's default, like the PostgreSQL driver's transactions).
    transaction: (fn) =>
      pg.transaction((tx) => {
        let closed = false;
        const open = () => {
          if (closed) throw new Error('Transaction is closed');
        };
        return fn({
          query: async <T>(sql: string, params?: readonly unknown[]) => {
            open();
            return query<T>(sql, params);
          },
          exec: async (sql) => {
            open();
            try {
              await tx.exec(sql);
            } finally {
              if (FORGETS.test(sql)) prepared.clear();
            }
          },
        }).finally(() => {
          closed = true;
        });
      }),
    close: async () => {
      await pg.close();
      if (dir) makePrivate(dir);
    },
  };
}
