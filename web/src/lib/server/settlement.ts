/**
 * The few settlement calls the web server makes itself (staff pages). Errors from settlement
 * (`{error: {code, message, details}}`) become {@link WebError}s; a network failure or a 5xx is
 * `upstream`.
 *
 * Staff order endpoints (settlement/src/http/staff-routes.ts), all with a staff token:
 * - `GET /stores/<id>/orders?size=` → `{items: StoreOrder[]}`
 * - `GET /stores/<id>/orders/pickup/<code>` → one StoreOrder, 404 when none
 * - `POST /orders/<orderId>/status` body `{status}` → the StoreOrder after the move
 */
import { WebError } from './errors.ts';

export interface StockItem {
  sku: string;
  onHand: number;
  held: number;
  committed: number;
  available: number;
}

export interface StoreOrder {
  /** Order id (what the status endpoint takes). */
  id: string;
  settlementId?: string;
  status: string;
  total?: number;
  currency?: string;
  pickupCode?: string | null;
  lines?: { sku: string; qty: number; name?: string }[];
  createdAt?: string;
  roomId?: string;
}

export interface StoreInfo {
  id: string;
  name: string;
  address?: string;
  city?: string;
}

export interface ProductInfo {
  sku: string;
  name: string;
  price?: number;
  currency?: string;
}

export class SettlementClient {
  constructor(
    readonly baseUrl: string,
    private readonly timeoutMs = 5000,
  ) {}

  private async call<T>(path: string, init: RequestInit & { token?: string } = {}): Promise<T> {
    const headers = new Headers(init.headers);
    headers.set('accept', 'application/json');
    if (init.token) headers.set('authorization', `Bearer ${init.token}`);
    if (init.body) headers.set('content-type', 'application/json');
    let res: Response;
    try {
      res = await fetch(this.baseUrl + path, {
        ...init,
        headers,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new WebError('upstream', `settlement unreachable: ${(err as Error).message}`);
    }
    const text = await res.text();
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: handled below by status
    }
    if (res.ok) return body as T;
    const e = (
      body as { error?: { code?: string; message?: string; details?: Record<string, unknown> } }
    )?.error;
    const message = e?.message ?? `settlement answered ${res.status}`;
    const details = { ...(e?.details ?? {}), upstreamCode: e?.code, upstreamStatus: res.status };
    if (res.status === 404) throw new WebError('not_found', message, details);
    if (res.status === 401 || res.status === 403) throw new WebError('forbidden', message, details);
    if (res.status === 409) throw new WebError('conflict', message, details);
    if (res.status >= 400 && res.status < 500) throw new WebError('invalid', message, details);
    throw new WebError('upstream', message, details);
  }

  async stock(storeId: string): Promise<StockItem[]> {
    const r = await this.call<{ items?: StockItem[] }>(
      `/stores/${encodeURIComponent(storeId)}/stock`,
    );
    return r?.items ?? [];
  }

  async setOnHand(storeId: string, sku: string, onHand: number, token: string): Promise<StockItem> {
    return this.call<StockItem>(
      `/stores/${encodeURIComponent(storeId)}/stock/${encodeURIComponent(sku)}`,
      { method: 'PUT', body: JSON.stringify({ onHand }), token },
    );
  }

  async store(storeId: string): Promise<StoreInfo | null> {
    try {
      return await this.call<StoreInfo>(`/stores/${encodeURIComponent(storeId)}`);
    } catch (err) {
      if (err instanceof WebError && (err.code === 'not_found' || err.code === 'invalid')) {
        // No single-store endpoint: find it in the list.
        const list = await this.call<{ items?: StoreInfo[] }>('/stores?size=100');
        return list?.items?.find((s) => s.id === storeId) ?? null;
      }
      throw err;
    }
  }

  async products(): Promise<ProductInfo[]> {
    const out: ProductInfo[] = [];
    for (let page = 1; page <= 20; page++) {
      const r = await this.call<{ items?: ProductInfo[]; total?: number }>(
        `/products?size=100&page=${page}`,
      );
      const items = r?.items ?? [];
      out.push(...items);
      if (items.length < 100 || (r.total !== undefined && out.length >= r.total)) break;
    }
    return out;
  }

  async orders(storeId: string, token: string): Promise<StoreOrder[]> {
    const r = await this.call<{ items?: StoreOrder[] }>(
      `/stores/${encodeURIComponent(storeId)}/orders?size=100`,
      { token },
    );
    return r?.items ?? [];
  }

  /** The order with this pickup code at this store, or null. */
  async orderByPickupCode(
    storeId: string,
    code: string,
    token: string,
  ): Promise<StoreOrder | null> {
    try {
      return await this.call<StoreOrder>(
        `/stores/${encodeURIComponent(storeId)}/orders/pickup/${encodeURIComponent(code)}`,
        { token },
      );
    } catch (err) {
      if (err instanceof WebError && err.code === 'not_found') return null;
      throw err;
    }
  }

  async setOrderStatus(
    orderId: string,
    status: 'packed' | 'ready_for_pickup' | 'completed',
    token: string,
  ): Promise<StoreOrder> {
    return this.call<StoreOrder>(`/orders/${encodeURIComponent(orderId)}/status`, {
      method: 'POST',
      body: JSON.stringify({ status }),
      token,
    });
  }
}
