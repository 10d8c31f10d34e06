/**
 * The store picker's data: nearest stores from settlement (through web's `/api/stores` proxy),
 * with the whole cart's availability at each recomputed here from per-sku stock, because the
 * cart (quantities included) changes live while settlement only knows the skus we asked about.
 */
import type { CartLine } from '@patungan/model';
import type { NearbyStore } from '@patungan/model/contracts';

/** Per-sku stock at a store (the live stock stream updates only `available`). */
export type StoreAvailability = Pick<NearbyStore['availability'][number], 'sku' | 'available'>;

/** A store of settlement's `GET /stores` (the contract's `NearbyStore`) as the picker keeps it. */
export type Store = Pick<NearbyStore, 'id' | 'name' | 'address' | 'city' | 'lat' | 'lng'> &
  Partial<Pick<NearbyStore, 'distanceKm' | 'canFulfil' | 'region'>> & {
    availability: StoreAvailability[];
  };

/** Cities to choose from when the browser's location is unavailable (the demo stores' cities). */
export const CITIES: readonly { name: string; lat: number; lng: number }[] = [
  { name: 'Jakarta', lat: -6.2088, lng: 106.8456 },
  { name: 'Bandung', lat: -6.9175, lng: 107.6191 },
  { name: 'Surabaya', lat: -7.2575, lng: 112.7521 },
  { name: 'Yogyakarta', lat: -7.7956, lng: 110.3695 },
  { name: 'Semarang', lat: -6.9667, lng: 110.4167 },
  { name: 'Denpasar', lat: -8.6705, lng: 115.2126 },
  { name: 'Medan', lat: 3.5952, lng: 98.6722 },
  { name: 'Makassar', lat: -5.1477, lng: 119.4327 },
];

/** Quantity wanted per sku over all lines. */
export function wantedBySku(lines: readonly CartLine[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of lines) m.set(l.sku, (m.get(l.sku) ?? 0) + l.qty);
  return m;
}

export interface Shortage {
  sku: string;
  wanted: number;
  available: number;
}

/** What the store lacks for this cart (empty: it can fulfil everything). */
export function shortages(
  store: Pick<Store, 'availability'>,
  wanted: Map<string, number>,
): Shortage[] {
  const have = new Map(store.availability.map((a) => [a.sku, a.available]));
  const out: Shortage[] = [];
  for (const [sku, qty] of wanted) {
    const available = have.get(sku) ?? 0;
    if (available < qty) out.push({ sku, wanted: qty, available });
  }
  return out;
}

/**
 * Applies one stock-stream event to the store list. Events carry `{sku, available}` (and
 * usually `storeId`); anything else is ignored and the caller refetches.
 */
export function applyStockEvent(stores: Store[], storeId: string, data: unknown): Store[] | null {
  const d = data as {
    sku?: unknown;
    available?: unknown;
    storeId?: unknown;
    items?: unknown;
  } | null;
  if (!d || typeof d !== 'object') return null;
  const items: { sku: string; available: number }[] = [];
  const take = (x: unknown) => {
    const e = x as { sku?: unknown; available?: unknown };
    if (typeof e?.sku === 'string' && typeof e.available === 'number')
      items.push({ sku: e.sku, available: e.available });
  };
  if (Array.isArray(d.items)) d.items.forEach(take);
  else take(d);
  if (!items.length) return null;
  const target = typeof d.storeId === 'string' ? d.storeId : storeId;
  return stores.map((s) => {
    if (s.id !== target) return s;
    const availability = [...s.availability];
    for (const it of items) {
      const i = availability.findIndex((a) => a.sku === it.sku);
      if (i >= 0) availability[i] = it;
      else availability.push(it);
    }
    return { ...s, availability };
  });
}

/** How long a store's stock read stays fresh for the quantity box. */
const STOCK_MAX_AGE_MS = 15_000;
const stockCache = new Map<string, { at: number; stock: Promise<Map<string, number>> }>();

/**
 * Available units per sku at one store (web's `/api/stores/<id>/stock` proxy), cached for
 * 15 s per store so every cart line asks once. A failed read is forgotten at once.
 */
export function storeStock(
  storeId: string,
  fetchFn: typeof fetch = fetch,
): Promise<Map<string, number>> {
  const hit = stockCache.get(storeId);
  if (hit && Date.now() - hit.at < STOCK_MAX_AGE_MS) return hit.stock;
  const stock = fetchFn(`/api/stores/${encodeURIComponent(storeId)}/stock`).then(async (res) => {
    if (!res.ok) throw new Error(`stock ${res.status}`);
    const body = (await res.json()) as { items?: { sku?: unknown; available?: unknown }[] };
    const out = new Map<string, number>();
    for (const i of body.items ?? []) {
      if (typeof i.sku === 'string' && typeof i.available === 'number') out.set(i.sku, i.available);
    }
    return out;
  });
  stockCache.set(storeId, { at: Date.now(), stock });
  stock.catch(() => stockCache.delete(storeId));
  return stock;
}

/** One product a stock refusal named: what the cart wanted and what the store had. */
export interface RefusedItem {
  sku: string;
  name: string;
  wanted: number;
  available: number;
}

/**
 * Why the last finalise reopened the room (`settlement.lastErrorDetails`, written by the
 * room-server): a code the page words in its reader's language and, for `insufficient_stock`,
 * the store and the short products by name.
 */
export interface Refusal {
  code: string;
  storeId: string | null;
  storeName: string | null;
  short: RefusedItem[];
  /** `region_unavailable`: the slug of the store's region whose system is down. */
  region: string | null;
}

/** The room's `settlement.lastErrorDetails`, checked field by field (null when absent or bad). */
export function readRefusal(v: unknown): Refusal | null {
  const d = v as {
    code?: unknown;
    storeId?: unknown;
    storeName?: unknown;
    short?: unknown;
    region?: unknown;
  };
  if (!d || typeof d !== 'object' || typeof d.code !== 'string') return null;
  const short: RefusedItem[] = [];
  if (Array.isArray(d.short)) {
    for (const x of d.short as Record<string, unknown>[]) {
      if (
        x &&
        typeof x.sku === 'string' &&
        typeof x.wanted === 'number' &&
        typeof x.available === 'number'
      ) {
        const name = typeof x.name === 'string' && x.name ? x.name : x.sku;
        short.push({ sku: x.sku, name, wanted: x.wanted, available: x.available });
      }
    }
  }
  return {
    code: d.code,
    storeId: typeof d.storeId === 'string' ? d.storeId : null,
    storeName: typeof d.storeName === 'string' ? d.storeName : null,
    short,
    region: typeof d.region === 'string' ? d.region : null,
  };
}

/**
 * What of a stock refusal still holds now: nothing once another store is chosen; otherwise the
 * products the cart still wants more of than the store had (or has now, by the live list),
 * with today's wanted quantity. Empty: resolved, stop showing it.
 */
export function refusalStillShort(
  refusal: Refusal,
  chosenStoreId: string | null,
  wanted: ReadonlyMap<string, number>,
  live?: Pick<Store, 'id' | 'availability'> | null,
): RefusedItem[] {
  if (refusal.code !== 'insufficient_stock' || !refusal.storeId) return [];
  if (refusal.storeId !== chosenStoreId) return [];
  const now =
    live?.id === refusal.storeId
      ? new Map(live.availability.map((a) => [a.sku, a.available]))
      : null;
  const out: RefusedItem[] = [];
  for (const item of refusal.short) {
    const want = wanted.get(item.sku) ?? 0;
    const available = now?.get(item.sku) ?? item.available;
    if (want > available) out.push({ ...item, wanted: want, available });
  }
  return out;
}

/**
 * The nearest store that has the whole cart, in the list's order (settlement lists the nearest
 * first), other than the `exclude`d ones; null when none of the listed stores has it.
 */
export function nearestComplete(
  stores: readonly Store[],
  wanted: Map<string, number>,
  exclude: ReadonlySet<string>,
): Store | null {
  if (wanted.size === 0) return null;
  return stores.find((s) => !exclude.has(s.id) && shortages(s, wanted).length === 0) ?? null;
}

/** `DKI Jakarta` → `dki-jakarta`, as settlement names a region in `region_unavailable`. */
export function regionSlug(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/**
 * The nearest listed store that has everything and is outside the region that is down (the
 * store's own region, by the list, or the slug settlement named); null when none is.
 */
export function nearestInAnotherRegion(
  stores: readonly Store[],
  wanted: Map<string, number>,
  downStoreId: string,
  downRegion: string | null,
): Store | null {
  const own = stores.find((s) => s.id === downStoreId)?.region;
  const down = new Set([own, downRegion].filter((r): r is string => !!r).map(regionSlug));
  return nearestComplete(
    stores.filter((s) => !s.region || !down.has(regionSlug(s.region))),
    wanted,
    new Set([downStoreId]),
  );
}
