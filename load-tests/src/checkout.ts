/**
 * The controller's side of the `checkout` scenario: pick the store and the contended sku from
 * the settlement API, watch the store's stock while many rooms finalise at once, and judge the
 * outcome (holds won / refused, oversell, holds ended after their TTL).
 */
import type { StockItem } from '@patungan/model/contracts';
import { SettlementApiError, SettlementClient } from '@patungan/model/settlement-client';
import type { Histogram } from './histogram.ts';
import type { FinaliseResult, RoomSettlementView } from './engine.ts';
import type { CheckoutReport } from './report-types.ts';

/** A store's stock row, as the settlement contract defines it. */
export type StockRow = StockItem;

export class CheckoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckoutError';
  }
}

/** The one settlement client (model's), with this tool's own words for a failure. */
async function settlement<T>(
  settlementUrl: string,
  what: string,
  call: (api: SettlementClient) => Promise<T>,
): Promise<T> {
  try {
    return await call(new SettlementClient({ baseUrl: settlementUrl, timeoutMs: 5000 }));
  } catch (err) {
    if (err instanceof SettlementApiError && err.status === 0)
      throw new CheckoutError(
        `settlement not reachable at ${new URL(settlementUrl).origin}: ${err.message}`,
      );
    if (err instanceof SettlementApiError)
      throw new CheckoutError(`GET ${what} answered ${err.status}`);
    throw err;
  }
}

export async function readStock(
  settlementUrl: string,
  storeId: string,
  sku: string,
): Promise<StockRow | null> {
  const rows = await settlement(settlementUrl, `/stores/${storeId}/stock`, (api) =>
    api.stock(storeId),
  );
  return rows.find((i) => i.sku === sku) ?? null;
}

/** Resolves `--store` / `--sku` defaults: the first store, and its first sku with stock. */
export async function chooseTarget(
  settlementUrl: string,
  store: string | null,
  sku: string | null,
): Promise<{ storeId: string; sku: string; stock: StockRow }> {
  let storeId = store;
  if (!storeId) {
    const stores = await settlement(settlementUrl, '/stores', (api) => api.stores());
    storeId = stores.items[0]?.id ?? null;
    if (!storeId) throw new CheckoutError('settlement has no stores; seed it or pass --store');
  }
  const target = storeId;
  const rows = await settlement(settlementUrl, `/stores/${target}/stock`, (api) =>
    api.stock(target),
  );
  if (!rows.length) throw new CheckoutError(`store ${storeId} has no stock rows`);
  const row = sku ? rows.find((r) => r.sku === sku) : rows.find((r) => r.available > 0);
  if (!row)
    throw new CheckoutError(
      sku ? `store ${storeId} does not stock ${sku}` : `store ${storeId} has nothing in stock`,
    );
  return { storeId, sku: row.sku, stock: row };
}

/** Catalog skus for realistic rooms; null when settlement is not there (shopping then uses a fixed list). */
export async function catalogSkus(settlementUrl: string): Promise<string[] | null> {
  try {
    const api = new SettlementClient({ baseUrl: settlementUrl, timeoutMs: 1500 });
    const skus = (await api.products({ size: 50 })).items.map((p) => p.sku);
    return skus.length ? skus : null;
  } catch {
    return null;
  }
}

const ENDED = new Set(['expired', 'cancelled', 'completed']);

export interface CheckoutInputs {
  storeId: string;
  sku: string;
  qtyPerRoom: number;
  stockBefore: StockRow | null;
  stockAfter: StockRow | null;
  minAvailableSeen: number | null;
  maxHeldSeen: number | null;
  results: FinaliseResult[];
  views: RoomSettlementView[];
  finalise: Histogram;
  holdEndObserved: boolean;
  notes: string[];
}

/**
 * Judges a checkout run. Oversell is the larger of two views: units the rooms were granted
 * beyond what was available before, and units the store itself showed as held beyond stock
 * (a negative `available` while we polled).
 */
export function judgeCheckout(i: CheckoutInputs): CheckoutReport {
  const won = i.results.filter((r) => r.status === 202);
  const refused = i.results.filter((r) => r.status === 409);
  const errors = i.results.length - won.length - refused.length;
  const before = i.stockBefore;
  const granted = won.length * i.qtyPerRoom;
  const overGranted = before ? Math.max(0, granted - before.available) : 0;
  const negative = i.minAvailableSeen !== null && i.minAvailableSeen < 0 ? -i.minAvailableSeen : 0;
  const heldOver =
    before && i.maxHeldSeen !== null
      ? Math.max(0, i.maxHeldSeen + before.committed - before.onHand)
      : 0;
  const byRoom = new Map(i.views.map((v) => [v.roomId, v]));
  const ended = won.filter((r) => {
    const v = byRoom.get(r.roomId);
    return v?.status ? ENDED.has(v.status) : false;
  }).length;
  const stockBack =
    before && i.stockAfter
      ? i.stockAfter.held <= before.held && i.stockAfter.available >= 0
      : false;
  const notes = [...i.notes];
  if (i.holdEndObserved && won.length && !stockBack)
    notes.push('stock still shows units held after the wait');
  return {
    storeId: i.storeId,
    sku: i.sku,
    qtyPerRoom: i.qtyPerRoom,
    stockBefore: before
      ? {
          onHand: before.onHand,
          held: before.held,
          committed: before.committed,
          available: before.available,
        }
      : null,
    finalises: i.results.length,
    holdsWon: won.length,
    holdsRefused: refused.length,
    finaliseErrors: errors,
    oversell: Math.max(overGranted, negative, heldOver),
    minAvailableSeen: i.minAvailableSeen,
    finaliseToStatus: i.finalise.summary(1000),
    holdsEnded: ended,
    holdsEndedPercent:
      won.length && i.holdEndObserved ? Math.round((ended / won.length) * 10000) / 100 : null,
    holdEndObserved: i.holdEndObserved,
    stockAfter: i.stockAfter
      ? {
          onHand: i.stockAfter.onHand,
          held: i.stockAfter.held,
          committed: i.stockAfter.committed,
          available: i.stockAfter.available,
        }
      : null,
    notes,
  };
}
