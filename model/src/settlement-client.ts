/**
 * `@patungan/model/settlement-client`: the one HTTP client of the settlement API, for the
 * room-server (finalise) and web's server (catalog proxy, staff pages, demo staff seed).
 *
 * Fetch-based, so it runs anywhere `fetch` does. Every call has a timeout. Answers are checked
 * against the contract's schemas (contracts/), and every failure is a
 * {@link SettlementApiError} carrying settlement's own `code`, HTTP `status` and `details`:
 * status 0 means settlement was not reached (network error, timeout), and an answer that
 * does not match its schema is `bad_answer`.
 */
import { z } from 'zod';
import {
  CategorySchema,
  LowStockSchema,
  NearbyStoresSchema,
  PaymentMethodsSchema,
  ProductPageSchema,
  ProductSchema,
  SettlementErrorBodySchema,
  SalesReportSchema,
  SettlementStateSchema,
  StockImportResultSchema,
  StockItemSchema,
  MemberOrdersSchema,
  ReviewSchema,
  ReviewsSchema,
  StoreOrderSchema,
  StoreReviewSchema,
  StoreSchema,
  pageOf,
  type Category,
  type LowStock,
  type NearbyStores,
  type PaymentMethods,
  type Product,
  type ProductPage,
  type SalesReport,
  type SettlementRequest,
  type SettlementState,
  type StockImportResult,
  type StockItem,
  type Store,
  type StoreOrder,
  type MemberOrder,
  type Review,
  type ReviewBody,
  type Reviews,
  type StoreReview,
} from './contracts/index.ts';
import type { SettlementErrorCode, StaffOrderMove } from './contracts/vocabulary.ts';

/** Codes the client itself gives a failure that settlement did not answer with. */
export type ClientErrorCode = 'unreachable' | 'bad_answer' | 'bad_response';

export class SettlementApiError extends Error {
  constructor(
    /** settlement's HTTP status; 0 when it was not reached. */
    readonly status: number,
    /** settlement's `error.code`, or the client's own ({@link ClientErrorCode}). */
    readonly code: SettlementErrorCode | ClientErrorCode | (string & {}),
    message: string,
    /** settlement's `error.details`. */
    readonly details?: Record<string, unknown>,
    /** The answer's body as parsed (what a caller passing a refusal through answers). */
    readonly body?: unknown,
  ) {
    super(message);
    this.name = 'SettlementApiError';
  }

  /** Worth trying again with the same request: not reached, 5xx, or 429. */
  get transient(): boolean {
    return this.status === 0 || this.status >= 500 || this.status === 429;
  }
}

export interface SettlementClientOptions {
  /** settlement's base URL (`SETTLEMENT_URL`), with or without a trailing slash. */
  baseUrl: string;
  /** Per-request timeout (default 10 s). */
  timeoutMs?: number;
  /** The fetch to use (default the global one). */
  fetch?: typeof fetch;
}

export interface CallOptions {
  method?: 'GET' | 'POST' | 'PUT';
  /** JSON body. */
  body?: unknown;
  /** Bearer token (service or staff). */
  token?: string;
  idempotencyKey?: string;
  timeoutMs?: number;
  /** Aborts the call with the caller (a browser that went away). */
  signal?: AbortSignal;
}

export interface RetryOptions {
  /** Attempts after the first on a transient failure (default 0). */
  retries?: number;
  /** First retry delay; doubles each time (default 200 ms). */
  retryDelayMs?: number;
  /** Called before each retry with what failed. */
  onRetry?: (err: SettlementApiError, attempt: number) => void;
}

const ItemsOf = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item) });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class SettlementClient {
  readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly fetchFn: typeof fetch;

  constructor(o: SettlementClientOptions) {
    this.baseUrl = o.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = o.timeoutMs ?? 10_000;
    this.fetchFn = o.fetch ?? ((...a) => fetch(...a));
  }

  /**
   * The answer to `path` as it came, whatever its status (for proxies that pass settlement's
   * answers through). Throws only when settlement was not reached (status 0).
   */
  async raw(
    path: string,
    o: { accept?: string; timeoutMs?: number | null; signal?: AbortSignal } & Omit<
      CallOptions,
      'timeoutMs'
    > = {},
  ): Promise<Response> {
    const headers = new Headers({ accept: o.accept ?? 'application/json' });
    if (o.token) headers.set('authorization', `Bearer ${o.token}`);
    if (o.idempotencyKey) headers.set('idempotency-key', o.idempotencyKey);
    if (o.body !== undefined) headers.set('content-type', 'application/json');
    // `timeoutMs: null`: no timeout (a stream that lives as long as its reader).
    const timeout =
      o.timeoutMs === null ? null : AbortSignal.timeout(o.timeoutMs ?? this.timeoutMs);
    const signals = [timeout, o.signal].filter(
      (s): s is AbortSignal => s !== null && s !== undefined,
    );
    try {
      return await this.fetchFn(this.baseUrl + path, {
        method: o.method ?? 'GET',
        headers,
        ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
        ...(signals.length
          ? { signal: signals.length === 1 ? signals[0]! : AbortSignal.any(signals) }
          : {}),
      });
    } catch (err) {
      throw new SettlementApiError(
        0,
        'unreachable',
        `settlement unreachable: ${(err as Error).message}`,
      );
    }
  }

  /** Calls `path` and checks a 2xx answer against `schema`; anything else throws. */
  async call<T extends z.ZodType>(
    path: string,
    schema: T,
    o: CallOptions = {},
  ): Promise<{ status: number; body: z.infer<T> }> {
    const res = await this.raw(path, o);
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw new SettlementApiError(
        0,
        'unreachable',
        `settlement's answer was cut off: ${(err as Error).message}`,
      );
    }
    let body: unknown = null;
    let json = true;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      json = false;
    }
    if (!res.ok) {
      const e = SettlementErrorBodySchema.safeParse(body);
      if (e.success) {
        const { code, message, details } = e.data.error;
        throw new SettlementApiError(res.status, code, message, details, body);
      }
      const message = json ? `settlement answered ${res.status}` : text.slice(0, 200);
      throw new SettlementApiError(res.status, 'bad_response', message, undefined, {
        error: { code: 'bad_response', message },
      });
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      throw new SettlementApiError(
        res.status,
        'bad_answer',
        `settlement answered ${path} with an unexpected body`,
        { issues: parsed.error.issues.slice(0, 5) },
        body,
      );
    }
    return { status: res.status, body: parsed.data };
  }

  /** {@link call}, tried again on transient failures (with the same request). */
  async callRetrying<T extends z.ZodType>(
    path: string,
    schema: T,
    o: CallOptions & RetryOptions = {},
  ): Promise<{ status: number; body: z.infer<T> }> {
    const retries = o.retries ?? 0;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.call(path, schema, o);
      } catch (err) {
        if (!(err instanceof SettlementApiError) || !err.transient || attempt >= retries) throw err;
        o.onRetry?.(err, attempt);
        await sleep((o.retryDelayMs ?? 200) * 2 ** attempt);
      }
    }
  }

  // ---------------------------------------------------------------- settlements

  /**
   * `POST /settlements`: `201` (new) or `200` (a replay of the key's first answer). A refusal
   * (`409 insufficient_stock`, `409 settlement_ended`, `422 …`) throws with its details.
   */
  async createSettlement(
    request: SettlementRequest,
    o: { token: string; idempotencyKey: string } & RetryOptions,
  ): Promise<{ status: number; settlement: SettlementState }> {
    const r = await this.callRetrying('/settlements', SettlementStateSchema, {
      ...o,
      method: 'POST',
      body: request,
    });
    return { status: r.status, settlement: r.body };
  }

  /** `GET /payment-methods`: what this deployment takes, in offering order. */
  async paymentMethods(
    o: { lang?: 'id' | 'en'; timeoutMs?: number } = {},
  ): Promise<PaymentMethods> {
    const q = o.lang ? `?lang=${o.lang}` : '';
    return (await this.call(`/payment-methods${q}`, PaymentMethodsSchema, o)).body;
  }

  // ---------------------------------------------------------------- catalog and stores

  async products(
    query: { q?: string; category?: string; page?: number; size?: number } = {},
    o: CallOptions = {},
  ): Promise<ProductPage> {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) p.set(k, String(v));
    return (await this.call(`/products?${p}`, ProductPageSchema, o)).body;
  }

  /** Every product, a hundred per page (at most 2,000). */
  async allProducts(o: CallOptions = {}): Promise<Product[]> {
    const out: Product[] = [];
    for (let page = 1; page <= 20; page++) {
      const r = await this.products({ page, size: 100 }, o);
      out.push(...r.items);
      if (r.items.length < 100 || out.length >= r.total) break;
    }
    return out;
  }

  async product(sku: string, o: CallOptions = {}): Promise<Product> {
    return (await this.call(`/products/${encodeURIComponent(sku)}`, ProductSchema, o)).body;
  }

  async categories(o: CallOptions = {}): Promise<Category[]> {
    return (await this.call('/categories', ItemsOf(CategorySchema), o)).body.items;
  }

  async stores(
    query: { lat?: number; lng?: number; skus?: string; limit?: number } = {},
    o: CallOptions = {},
  ): Promise<NearbyStores> {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) p.set(k, String(v));
    return (await this.call(`/stores?${p}`, NearbyStoresSchema, o)).body;
  }

  async store(id: string, o: CallOptions = {}): Promise<Store> {
    return (await this.call(`/stores/${encodeURIComponent(id)}`, StoreSchema, o)).body;
  }

  async stock(storeId: string, o: CallOptions = {}): Promise<StockItem[]> {
    const path = `/stores/${encodeURIComponent(storeId)}/stock`;
    return (await this.call(path, ItemsOf(StockItemSchema), o)).body.items;
  }

  /** `PUT /stores/<id>/stock/<sku>` (staff of that store). */
  async setOnHand(storeId: string, sku: string, onHand: number, token: string): Promise<StockItem> {
    const path = `/stores/${encodeURIComponent(storeId)}/stock/${encodeURIComponent(sku)}`;
    return (await this.call(path, StockItemSchema, { method: 'PUT', body: { onHand }, token }))
      .body;
  }

  // ---------------------------------------------------------------- store staff

  async orders(storeId: string, token: string, size = 100): Promise<StoreOrder[]> {
    const path = `/stores/${encodeURIComponent(storeId)}/orders?size=${size}`;
    return (await this.call(path, pageOf(StoreOrderSchema), { token })).body.items;
  }

  /** The order with this pickup code at this store, or null. */
  async orderByPickupCode(
    storeId: string,
    code: string,
    token: string,
  ): Promise<StoreOrder | null> {
    const path = `/stores/${encodeURIComponent(storeId)}/orders/pickup/${encodeURIComponent(code)}`;
    try {
      return (await this.call(path, StoreOrderSchema, { token })).body;
    } catch (err) {
      if (err instanceof SettlementApiError && err.status === 404) return null;
      throw err;
    }
  }

  /** The order with this `orderRef` at this store, or null. */
  async orderByRef(storeId: string, orderRef: string, token: string): Promise<StoreOrder | null> {
    const path = `/stores/${encodeURIComponent(storeId)}/orders/ref/${encodeURIComponent(orderRef)}`;
    try {
      return (await this.call(path, StoreOrderSchema, { token })).body;
    } catch (err) {
      if (err instanceof SettlementApiError && err.status === 404) return null;
      throw err;
    }
  }

  /** Moves an order along; `completed` needs the shoppers' pickup code. */
  async setOrderStatus(
    orderId: string,
    status: StaffOrderMove,
    token: string,
    pickupCode?: string,
  ): Promise<StoreOrder> {
    const path = `/orders/${encodeURIComponent(orderId)}/status`;
    const body = pickupCode === undefined ? { status } : { status, pickupCode };
    return (await this.call(path, StoreOrderSchema, { method: 'POST', body, token })).body;
  }

  // ---------------------------------------------------------------- store reports and stock tools

  /** `GET /stores/<id>/reports/sales?from=&to=` (staff of that store, or service). */
  async salesReport(
    storeId: string,
    range: { from: string; to: string },
    token: string,
  ): Promise<SalesReport> {
    const q = new URLSearchParams(range);
    const path = `/stores/${encodeURIComponent(storeId)}/reports/sales?${q}`;
    return (await this.call(path, SalesReportSchema, { token })).body;
  }

  /** `GET /stores/<id>/stock/export`: the store's stock as CSV text (with its BOM). */
  async stockCsv(storeId: string, token: string): Promise<string> {
    const path = `/stores/${encodeURIComponent(storeId)}/stock/export`;
    const res = await this.raw(path, { token, accept: 'text/csv' });
    const bytes = await res.arrayBuffer().catch((err: Error) => {
      throw new SettlementApiError(
        0,
        'unreachable',
        `settlement's answer was cut off: ${err.message}`,
      );
    });
    const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
    if (!res.ok) {
      const e = SettlementErrorBodySchema.safeParse(safeJson(text));
      if (e.success) {
        const { code, message, details } = e.data.error;
        throw new SettlementApiError(res.status, code, message, details, e.data);
      }
      throw new SettlementApiError(res.status, 'bad_response', `settlement answered ${res.status}`);
    }
    return text;
  }

  /**
   * `POST /stores/<id>/stock/import` `{csv, dryRun}`: the diff and the row errors. Applying a
   * file with row errors throws `422 invalid_rows` whose `details` is the same result.
   */
  async importStock(
    storeId: string,
    o: { csv: string; dryRun: boolean },
    token: string,
  ): Promise<StockImportResult> {
    const path = `/stores/${encodeURIComponent(storeId)}/stock/import`;
    return (await this.call(path, StockImportResultSchema, { method: 'POST', body: o, token }))
      .body;
  }

  /** `GET /stores/<id>/stock/low?below=`: what is running out. */
  async lowStock(storeId: string, below: number | undefined, token: string): Promise<LowStock> {
    const q = below === undefined ? '' : `?below=${below}`;
    const path = `/stores/${encodeURIComponent(storeId)}/stock/low${q}`;
    return (await this.call(path, LowStockSchema, { token })).body;
  }

  // ---------------------------------------------------------------- reviews and order history

  /** `GET /products/<sku>/reviews`: the newest reviews, the average and the count. */
  async reviews(sku: string, o: CallOptions = {}): Promise<Reviews> {
    const path = `/products/${encodeURIComponent(sku)}/reviews`;
    return (await this.call(path, ReviewsSchema, o)).body;
  }

  /**
   * `POST /products/<sku>/reviews` with the reviewer's member token (of the room whose
   * completed order had the sku): `201` a new review, `200` the member's earlier one replaced.
   */
  async writeReview(
    sku: string,
    body: ReviewBody,
    token: string,
  ): Promise<{ status: number; review: Review }> {
    const path = `/products/${encodeURIComponent(sku)}/reviews`;
    const r = await this.call(path, ReviewSchema, { method: 'POST', body, token });
    return { status: r.status, review: r.body };
  }

  /** `GET /stores/<id>/reviews` (staff of that store): reviews of what was bought there. */
  async storeReviews(storeId: string, token: string, page = 1): Promise<StoreReview[]> {
    const path = `/stores/${encodeURIComponent(storeId)}/reviews?page=${page}`;
    return (await this.call(path, pageOf(StoreReviewSchema), { token })).body.items;
  }

  /** `GET /members/<memberId>/orders` (web's service token, or the member's own). */
  async memberOrders(memberId: string, token: string): Promise<MemberOrder[]> {
    const path = `/members/${encodeURIComponent(memberId)}/orders`;
    return (await this.call(path, MemberOrdersSchema, { token })).body.items;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
