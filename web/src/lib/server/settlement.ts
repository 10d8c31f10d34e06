/**
 * The settlement calls the web server makes itself (staff pages, catalog, demo staff), through
 * the one settlement client (`@patungan/model/settlement-client`) with the contract's shapes.
 * Its typed errors become {@link WebError}s here: 404 `not_found`, 401/403 `forbidden`, 409
 * `conflict`, 429 `rate_limited` (with `retryAfter` seconds, so the person is told to wait, not
 * that their input was bad), other 4xx `invalid`, settlement unreachable or 5xx `upstream`; the
 * details keep settlement's own code and status (`upstreamCode`, `upstreamStatus`).
 */
import type { StaffOrderMove, StockItem, Store, StoreOrder } from '@patungan/model/contracts';
import { SettlementApiError, SettlementClient as Api } from '@patungan/model/settlement-client';
import { config } from './config.ts';
import { WebError } from './errors.ts';

export type { StockItem, StoreOrder };

/** settlement's typed error as web's own. */
export function webError(err: unknown): unknown {
  if (!(err instanceof SettlementApiError)) return err;
  const details = { ...err.details, upstreamCode: err.code, upstreamStatus: err.status };
  if (err.status === 0) return new WebError('upstream', err.message, details);
  if (err.status === 404) return new WebError('not_found', err.message, details);
  if (err.status === 401 || err.status === 403)
    return new WebError('forbidden', err.message, details);
  if (err.status === 409) return new WebError('conflict', err.message, details);
  if (err.status === 429) {
    const wait = err.details?.retryAfterSeconds;
    const retryAfter = typeof wait === 'number' && wait > 0 ? Math.ceil(wait) : 60;
    return new WebError('rate_limited', err.message, { ...details, retryAfter });
  }
  if (err.status >= 400 && err.status < 500) return new WebError('invalid', err.message, details);
  return new WebError('upstream', err.message, details);
}

const asWeb = <T>(p: Promise<T>): Promise<T> =>
  p.catch((err: unknown) => {
    throw webError(err);
  });

/** The shared client at `SETTLEMENT_URL`. */
export const settlementApi = (timeoutMs = 10_000) =>
  new Api({ baseUrl: config.settlementUrl, timeoutMs });

/** What the staff pages ask of settlement; failures are {@link WebError}s. */
export class SettlementClient {
  private readonly api: Api;

  constructor(baseUrl: string, timeoutMs = 5000) {
    this.api = new Api({ baseUrl, timeoutMs });
  }

  stock(storeId: string): Promise<StockItem[]> {
    return asWeb(this.api.stock(storeId));
  }

  setOnHand(storeId: string, sku: string, onHand: number, token: string): Promise<StockItem> {
    return asWeb(this.api.setOnHand(storeId, sku, onHand, token));
  }

  /** The store, or null when settlement does not know it. */
  async store(storeId: string): Promise<Store | null> {
    try {
      return await this.api.store(storeId);
    } catch (err) {
      if (err instanceof SettlementApiError && err.status === 404) return null;
      throw webError(err);
    }
  }

  products() {
    return asWeb(this.api.allProducts());
  }

  orders(storeId: string, token: string): Promise<StoreOrder[]> {
    return asWeb(this.api.orders(storeId, token));
  }

  /** The order with this pickup code at this store, or null. */
  orderByPickupCode(storeId: string, code: string, token: string): Promise<StoreOrder | null> {
    return asWeb(this.api.orderByPickupCode(storeId, code, token));
  }

  /** The order with this `orderRef` at this store, or null. */
  orderByRef(storeId: string, orderRef: string, token: string): Promise<StoreOrder | null> {
    return asWeb(this.api.orderByRef(storeId, orderRef, token));
  }

  setOrderStatus(
    orderId: string,
    status: StaffOrderMove,
    token: string,
    pickupCode?: string,
  ): Promise<StoreOrder> {
    return asWeb(this.api.setOrderStatus(orderId, status, token, pickupCode));
  }
}
