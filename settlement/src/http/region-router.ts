/**
 * With regions (docs/contracts.md "Regions") every region has its own app — the same routes
 * over that region's Ctx — and this front picks the app for each request:
 *
 * - a settlement, order or payment id, or an order reference, names its region's code
 *   (`stl_K7Q-…`, `K7Q-ABCD2345`): no lookup; an id without a code is central's;
 * - `/stores/<id>/…` (stock, orders, reports, stock tools) and `POST /settlements` (its
 *   body's `storeId`): the store's region, from the store directory (kept in memory);
 * - `/webhooks/<provider>`: the region whose code appears in an id the notice carries;
 * - `/stock/stream?stores=…`: the stores' region when they share one, else central (its
 *   consolidated copy of stock);
 * - everything else (catalog, store directory, reviews, a member's orders): central, and
 *   when central is down the catalog reads are answered from a region's replica.
 *
 * A region that is not set up yet (its database has never been reached) answers
 * `503 region_unavailable`; one whose database goes away does the same from its Db guard.
 */
import {
  codeOfId,
  codeOfRef,
  REGIONAL_ID_IN_TEXT,
  regionUnavailable,
  type StoreDirectory,
} from '../regions.ts';

const HEALTH_TIMEOUT_MS = 2000;

export interface RegionUnit {
  /** null: central (and every store whose region has no database of its own). */
  slug: string | null;
  code: string | null;
  /** Migrated and serving. */
  ready: boolean;
  fetch(req: Request): Promise<Response>;
}

export interface RegionFrontOptions {
  central: RegionUnit;
  regions: readonly RegionUnit[];
  directory: StoreDirectory;
  /** Bodies read to route (POST /settlements, webhooks) are read up to this many bytes. */
  maxBodyBytes: number;
}

/** At most `limit` bytes of the body as text, or null when it is longer. */
async function readLimited(req: Request, limit: number): Promise<string | null> {
  const declared = Number(req.headers.get('content-length') ?? NaN);
  if (declared > limit) return null;
  if (!req.body) return '';
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const CATALOG_READ = /^\/(products(\/[^/]+)?|categories|stores(\/[^/]+)?)$/;

export function regionFront(o: RegionFrontOptions): (req: Request) => Promise<Response> {
  const byCode = new Map(o.regions.map((r) => [r.code, r]));
  const bySlug = new Map(o.regions.map((r) => [r.slug, r]));
  const ofCode = (code: string | null) => (code && byCode.get(code)) || o.central;
  const ofStore = async (storeId: string) => {
    const slug = await o.directory.regionOf(storeId);
    return (slug && bySlug.get(slug)) || o.central;
  };

  async function pick(req: Request, path: string[], url: URL): Promise<RegionUnit> {
    const [head, id, sub] = path;
    if (head === 'settlements' && id) return ofCode(codeOfId(id));
    if (head === 'orders' && id) return ofCode(codeOfId(id));
    if (head === 'pay' && id) return ofCode(codeOfId(id));
    if (head === 'stores' && id && sub && sub !== 'reviews') {
      // an order reference names its region even when the store's is not known here
      if (sub === 'orders' && path[3] === 'ref' && path[4]) {
        const code = codeOfRef(path[4]);
        if (code && byCode.has(code)) return ofCode(code);
      }
      return ofStore(id);
    }
    if (head === 'stock' && id === 'stream') {
      const ids = (url.searchParams.get('stores') ?? '').split(',').filter(Boolean);
      const units = new Set(await Promise.all(ids.map(ofStore)));
      return units.size === 1 ? [...units][0]! : o.central;
    }
    if (req.method === 'POST' && head === 'settlements' && !id) {
      const text = await readLimited(req.clone(), o.maxBodyBytes);
      if (text === null) return o.central; // its own app answers 413
      try {
        const storeId = (JSON.parse(text) as { storeId?: unknown }).storeId;
        if (typeof storeId === 'string') return ofStore(storeId);
      } catch {
        // central's app answers the bad body
      }
      return o.central;
    }
    if (req.method === 'POST' && head === 'webhooks') {
      const text = await readLimited(req.clone(), o.maxBodyBytes);
      for (const m of (text ?? '').matchAll(REGIONAL_ID_IN_TEXT)) {
        if (byCode.has(m[1]!)) return ofCode(m[1]!);
      }
      return o.central;
    }
    return o.central;
  }

  const unavailable = (u: RegionUnit) =>
    Response.json(regionUnavailable(u.slug ?? 'central').toJSON(), { status: 503 });

  /** One unit's own `/healthz` (its database answers `SELECT 1`), given at most 2 s. */
  const healthOf = async (u: RegionUnit, url: URL): Promise<Response | null> => {
    if (!u.ready) return null;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<null>((r) => (timer = setTimeout(() => r(null), HEALTH_TIMEOUT_MS)));
    try {
      const res = await Promise.race([
        u.fetch(new Request(new URL('/healthz', url))).catch(() => null),
        late,
      ]);
      return res?.status === 200 ? res : null;
    } finally {
      clearTimeout(timer);
    }
  };

  return async (req) => {
    const url = new URL(req.url);
    // Every database's health: the instance is up (200) while any serves; `degraded` names
    // the regions that do not, so an operator sees which stores cannot sell.
    if (req.method === 'GET' && url.pathname === '/healthz') {
      const units = [o.central, ...o.regions];
      const answers = await Promise.all(units.map((u) => healthOf(u, url)));
      const regions = Object.fromEntries(
        units.map((u, i) => [u.slug ?? 'central', answers[i] ? 'ok' : 'unavailable']),
      );
      const up = answers.filter(Boolean).length;
      const instance = (
        (await answers
          .find(Boolean)
          ?.json()
          .catch(() => null)) as { instance?: string } | null
      )?.instance;
      return Response.json(
        { status: up === units.length ? 'ok' : 'degraded', db: 'postgres', instance, regions },
        { status: up > 0 ? 200 : 503 },
      );
    }
    const path = url.pathname
      .split('/')
      .filter(Boolean)
      .map((s) => {
        try {
          return decodeURIComponent(s);
        } catch {
          return s;
        }
      });
    const unit = await pick(req, path, url);
    if (!unit.ready) return unavailable(unit);
    const res = await unit.fetch(req);
    // central down: the catalog and the store directory are read from a region's replica
    if (
      res.status === 503 &&
      unit === o.central &&
      req.method === 'GET' &&
      CATALOG_READ.test(url.pathname)
    ) {
      for (const r of o.regions) {
        if (!r.ready) continue;
        const again = await r.fetch(new Request(req.url, { headers: req.headers }));
        if (again.status !== 503) return again;
      }
    }
    return res;
  };
}
