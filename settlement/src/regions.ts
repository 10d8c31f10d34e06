/**
 * Regions (docs/contracts.md "Regions", docs/decisions/0015): each store's stock, holds,
 * settlements, payments, orders and outbox live in its region's database. This module holds
 * the pure parts — region slugs and codes, `REGION_DATABASE_URLS`, reading a region out of an
 * id or order reference — the guard that turns an unreachable region database into
 * `503 region_unavailable`, and the store directory the router uses to find a store's region.
 */
import { createHash } from 'node:crypto';
import type { Db, Queryable } from '@patungan/db';
import { SettlementError } from './errors.ts';
import { PICKUP_ALPHABET } from './ids.ts';
import type { Logger } from './log.ts';

/** `DKI Jakarta` → `dki-jakarta`: lower case, every run of other characters one `-`. */
export function regionSlug(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/**
 * A region's 3-character code (the pickup-code alphabet, so it reads aloud in an order
 * reference), derived from its slug: every instance computes the same code without a table.
 */
export function regionCode(slug: string): string {
  const h = createHash('sha256').update(slug).digest();
  let s = '';
  for (let i = 0; i < 3; i++) s += PICKUP_ALPHABET[h[i]! % PICKUP_ALPHABET.length];
  return s;
}

const CODE = `[${PICKUP_ALPHABET}]{3}`;
/** The random part of ids.ts's shortId (12) and secretId (22). */
const RANDOM = '(?:[A-Za-z0-9_-]{22}|[A-Za-z0-9_-]{12})(?![A-Za-z0-9_-])';
const ID_CODE = new RegExp(`^[a-z]+_(${CODE})-${RANDOM}$`);
const REF_CODE = new RegExp(`^(${CODE})-`, 'i');
/** A regional id anywhere in a text (a provider's webhook body). */
export const REGIONAL_ID_IN_TEXT = new RegExp(`\\b(?:att|pay|stl|ord)_(${CODE})-${RANDOM}`, 'g');

/** The region code in an id (`stl_K7Q-…`), or null for an id from before regions / central. */
export function codeOfId(id: string): string | null {
  return ID_CODE.exec(id)?.[1] ?? null;
}

/** The region code in an order reference (`K7Q-ABCD2345`), or null (an 8-character one). */
export function codeOfRef(ref: string): string | null {
  return REF_CODE.exec(ref)?.[1]?.toUpperCase() ?? null;
}

/**
 * `REGION_DATABASE_URLS` (and `REGION_REPLICATION_URLS`): `<slug>=<postgres url>,…` → Map.
 * Throws naming the entry that is not that.
 */
export function parseRegionUrls(name: string, value: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of (value ?? '').split(',')) {
    const entry = raw.trim();
    if (!entry) continue;
    const eq = entry.indexOf('=');
    const slug = eq > 0 ? entry.slice(0, eq).trim() : '';
    const url = eq > 0 ? entry.slice(eq + 1).trim() : '';
    if (!slug || regionSlug(slug) !== slug) {
      throw new Error(
        `${name}: "${entry}" must be <region slug>=<postgres url> with a slug like dki-jakarta (lower case a-z, 0-9 and -)`,
      );
    }
    if (!/^postgres(ql)?:\/\//.test(url)) {
      throw new Error(`${name}: the URL of region ${slug} must start with postgres://`);
    }
    if (out.has(slug)) throw new Error(`${name}: region ${slug} is named twice`);
    out.set(slug, url);
  }
  return out;
}

/** Throws when two configured regions would share a code (then ids could not tell them apart). */
export function checkCodes(slugs: Iterable<string>): Map<string, string> {
  const bySlug = new Map<string, string>();
  const byCode = new Map<string, string>();
  for (const slug of slugs) {
    const code = regionCode(slug);
    const other = byCode.get(code);
    if (other) {
      throw new Error(
        `Regions ${other} and ${slug} share the id code ${code}; rename one of them (its slug)`,
      );
    }
    byCode.set(code, slug);
    bySlug.set(slug, code);
  }
  return bySlug;
}

/** PostgreSQL or postgres.js errors that mean "the server is not there", not "the query failed". */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, shutting down)
]);

export function isConnectionError(err: unknown): boolean {
  if (err instanceof AggregateError) return err.errors.some(isConnectionError);
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (CONNECTION_CODES.has(code) || code.startsWith('08'));
}

export function regionUnavailable(region: string): SettlementError {
  return new SettlementError(
    503,
    'region_unavailable',
    `The database of region ${region} cannot be reached; please retry`,
    { region },
  );
}

/**
 * `db` whose connection failures become `503 region_unavailable` (every flow running on a
 * region's Ctx gets it without knowing about regions). Query errors pass unchanged.
 *
 * An operation still unanswered after `timeoutMs` is answered `503` as well: a server that
 * dies under load can leave a query of postgres.js waiting on a connection that is gone, and
 * a caller must not wait for ever. The operation is not cancelled: if it does commit later,
 * the client's retry with the same idempotency key finds it (a 503 acknowledges nothing).
 */
export function guardRegionDb(db: Db, region: string, timeoutMs = 10_000): Db {
  const guard = async <T>(p: () => Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(regionUnavailable(region)), timeoutMs);
    });
    try {
      return await Promise.race([p(), late]);
    } catch (err) {
      if (isConnectionError(err)) throw regionUnavailable(region);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    kind: db.kind,
    query: (sql, params) => guard(() => db.query(sql, params)),
    exec: (sql) => guard(() => db.exec(sql)),
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) => guard(() => db.transaction(fn)),
    close: () => db.close(),
  };
}

/**
 * The store directory as the router needs it: store id → region slug. Read from the central
 * database, or, while central is down, from any region's replica of `stores` (every region
 * subscribes to it). Kept in memory: refreshed every `refreshMs` and on a store it does not
 * know (at most once a second).
 */
export class StoreDirectory {
  #regionOf = new Map<string, string>();
  #loadedAt = 0;
  #loading: Promise<void> | undefined;

  constructor(
    private readonly sources: readonly Db[],
    private readonly log: Logger,
    private readonly refreshMs = 30_000,
  ) {}

  async #load(): Promise<void> {
    for (const db of this.sources) {
      try {
        const rows = await db.query<{ id: string; region: string }>(
          'SELECT id, region FROM stores',
        );
        this.#regionOf = new Map(rows.map((r) => [r.id, regionSlug(r.region)]));
        this.#loadedAt = Date.now();
        return;
      } catch (err) {
        this.log.warn(
          { err: err instanceof Error ? err.message : String(err) },
          'store directory: a source is unreachable, trying the next',
        );
      }
    }
    this.#loadedAt = Date.now(); // all down: do not hammer them; the next miss retries in 1 s
  }

  #reload(): Promise<void> {
    this.#loading ??= this.#load().finally(() => (this.#loading = undefined));
    return this.#loading;
  }

  /** The store's region slug, or undefined for a store nobody knows. */
  async regionOf(storeId: string): Promise<string | undefined> {
    const age = Date.now() - this.#loadedAt;
    if (age > this.refreshMs || (!this.#regionOf.has(storeId) && age > 1000)) {
      await this.#reload();
    }
    return this.#regionOf.get(storeId);
  }
}

/**
 * A Db opened on first use, and opened again on the next use after opening failed (a region
 * database that is down at start, or comes back later). Closing closes what was opened.
 */
export function lazyDb(open: () => Promise<Db>): Db {
  let opening: Promise<Db> | undefined;
  const get = () =>
    (opening ??= open().catch((err: unknown) => {
      opening = undefined;
      throw err;
    }));
  return {
    kind: 'postgres',
    query: async (sql, params) => (await get()).query(sql, params),
    exec: async (sql) => (await get()).exec(sql),
    transaction: async (fn) => (await get()).transaction(fn),
    close: async () => {
      const db = await opening?.catch(() => undefined);
      await db?.close();
    },
  };
}
