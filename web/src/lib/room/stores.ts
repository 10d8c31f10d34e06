/**
 * The store picker's data: nearest stores from settlement (through web's `/api/stores` proxy),
 * with the whole cart's availability at each recomputed here from per-sku stock, because the
 * cart (quantities included) changes live while settlement only knows the skus we asked about.
 */
import type { CartLine } from '@patungan/model';

export interface StoreAvailability {
  sku: string;
  available: number;
}

export interface Store {
  id: string;
  name: string;
  address: string;
  city: string;
  lat: number;
  lng: number;
  distanceKm?: number | null;
  availability: StoreAvailability[];
  canFulfil?: boolean;
}

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
