/** The catalog as the room page sees it: web's `/api/catalog` proxy in front of settlement. */
import type { Product, ProductPage } from '@patungan/model/contracts';

/** settlement's shapes, as the contract has them (docs/contracts.md "Settlement API"). */
export type { Product, ProductPage };

export interface Category {
  id: string;
  label: string;
}

export class CatalogError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'CatalogError';
  }
}

async function getJson<T>(url: string, fetchFn: typeof fetch, signal?: AbortSignal): Promise<T> {
  const res = await fetchFn(url, {
    signal: signal ?? null,
    headers: { accept: 'application/json' },
  });
  if (!res.ok) {
    let message = res.statusText;
    try {
      message = ((await res.json()) as { error?: { message?: string } }).error?.message ?? message;
    } catch {
      // not JSON: keep the status text
    }
    throw new CatalogError(res.status, message);
  }
  return (await res.json()) as T;
}

export function searchProducts(
  query: { q?: string; category?: string; page?: number; size?: number },
  fetchFn: typeof fetch = fetch,
  signal?: AbortSignal,
): Promise<ProductPage> {
  const p = new URLSearchParams();
  if (query.q) p.set('q', query.q);
  if (query.category) p.set('category', query.category);
  p.set('page', String(query.page ?? 1));
  p.set('size', String(query.size ?? 12));
  return getJson<ProductPage>(`/api/catalog/products?${p}`, fetchFn, signal);
}

export function getProduct(sku: string, fetchFn: typeof fetch = fetch): Promise<Product> {
  return getJson<Product>(`/api/catalog/products/${encodeURIComponent(sku)}`, fetchFn);
}

export async function getCategories(fetchFn: typeof fetch = fetch): Promise<Category[]> {
  return (await getJson<{ items: Category[] }>('/api/catalog/categories', fetchFn)).items;
}

/**
 * Products by sku, fetched once each: the cart and the split need prices of skus that are not
 * on the catalog page being shown.
 */
export class ProductCache {
  readonly bySku = new Map<string, Product>();
  private inflight = new Map<string, Promise<Product | null>>();
  private missing = new Set<string>();

  constructor(
    private readonly onChange: () => void,
    private readonly fetchFn: typeof fetch = fetch,
  ) {}

  remember(products: readonly Product[]): void {
    let changed = false;
    for (const p of products) {
      if (!this.bySku.has(p.sku)) changed = true;
      this.bySku.set(p.sku, p);
    }
    if (changed) this.onChange();
  }

  /** Fetches whatever of `skus` is unknown; calls `onChange` as they arrive. */
  ensure(skus: Iterable<string>): void {
    for (const sku of skus) {
      if (this.bySku.has(sku) || this.inflight.has(sku) || this.missing.has(sku)) continue;
      const p = getProduct(sku, this.fetchFn)
        .then((prod) => {
          this.bySku.set(sku, prod);
          this.onChange();
          return prod;
        })
        .catch((err: unknown) => {
          // A 404 stays missing; a network error is retried on the next ensure().
          if (err instanceof CatalogError && err.status === 404) this.missing.add(sku);
          return null;
        })
        .finally(() => this.inflight.delete(sku));
      this.inflight.set(sku, p);
    }
  }
}
