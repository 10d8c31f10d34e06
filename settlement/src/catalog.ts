/** Product search and detail. */
import type { Product } from '@patungan/model/contracts';
import type { Queryable } from '@patungan/db';
import { notFound } from './errors.ts';
import { withRatings } from './reviews.ts';

/** The product as the contract shapes it (docs/contracts.md "Settlement API" › "Shapes"). */
export type { Product };

export interface ProductQuery {
  q?: string | undefined;
  category?: string | undefined;
  minPrice?: number | undefined;
  maxPrice?: number | undefined;
  page: number;
  size: number;
}

const COLUMNS = 'sku, name, category, description, price, currency, image';

/**
 * Every word of `q` must appear in the name, category or description (case-insensitive,
 * substring match, so "teh bot" finds "Teh Botol"). Results by name.
 */
export async function searchProducts(
  db: Queryable,
  o: ProductQuery,
): Promise<{ items: Product[]; total: number; page: number; size: number }> {
  const where: string[] = [];
  const params: unknown[] = [];
  const words = (o.q ?? '').toLowerCase().split(/\s+/).filter(Boolean).slice(0, 8);
  for (const w of words) {
    params.push(`%${w.replace(/[\\%_]/g, (c) => '\\' + c)}%`);
    where.push(`search LIKE $${params.length}`);
  }
  if (o.category) {
    params.push(o.category);
    where.push(`category = $${params.length}`);
  }
  if (o.minPrice !== undefined) {
    params.push(o.minPrice);
    where.push(`price >= $${params.length}`);
  }
  if (o.maxPrice !== undefined) {
    params.push(o.maxPrice);
    where.push(`price <= $${params.length}`);
  }
  params.push(o.size, (o.page - 1) * o.size);
  const rows = await db.query<Product & { total: number }>(
    `SELECT ${COLUMNS}, count(*) OVER () AS total FROM products
     ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
     ORDER BY name, sku LIMIT $${params.length - 1} OFFSET $${params.length}`,
    params,
  );
  let total = rows[0]?.total ?? 0;
  if (rows.length === 0 && o.page > 1) {
    // past the last page: still report how many there are
    const [c] = await db.query<{ n: number }>(
      `SELECT count(*) AS n FROM products ${where.length ? 'WHERE ' + where.join(' AND ') : ''}`,
      params.slice(0, -2),
    );
    total = c?.n ?? 0;
  }
  const items = await withRatings(
    db,
    rows.map(({ total: _t, ...p }) => p),
  );
  return { items, total, page: o.page, size: o.size };
}

export async function getProduct(db: Queryable, sku: string): Promise<Product> {
  const [p] = await db.query<Product>(`SELECT ${COLUMNS} FROM products WHERE sku = $1`, [sku]);
  if (!p) throw notFound(`Product ${sku}`, 'unknown_sku');
  const [rated] = await withRatings(db, [p]);
  return rated!;
}

export async function listCategories(db: Queryable): Promise<{ id: string; count: number }[]> {
  return db.query<{ id: string; count: number }>(
    'SELECT category AS id, count(*) AS count FROM products GROUP BY category ORDER BY category',
  );
}
