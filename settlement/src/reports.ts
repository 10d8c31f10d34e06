/**
 * Sales reports of one store (docs/contracts.md "Store reports and stock tools"). An order
 * counts once its group has paid and for as long as it is not cancelled (paid, packed, ready
 * for pickup, completed), on the local date of the store at the moment it was paid (the
 * order's creation), and only in the store's currency. Sums are done by the database in one
 * pass over the store's orders of the range (index orders_store), so the numbers are the SQL
 * sums of those orders (test/reports.test.ts checks them against a direct sum).
 */
import type { SalesReport } from '@patungan/model/contracts';
import type { Queryable } from '@patungan/db';
import { SettlementError, notFound } from './errors.ts';

/** The longest range one report covers, in days (a year, leap day included). */
export const MAX_REPORT_DAYS = 366;
/** How many best sellers a report lists. */
export const TOP_PRODUCTS = 10;

const SOLD = `('paid', 'packed', 'ready_for_pickup', 'completed')`;

/** `YYYY-MM-DD` → that calendar day as a UTC midnight, or null if it is no real date. */
function calendarDay(s: string): Date | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return null;
  const d = new Date(`${s}T00:00:00Z`);
  return Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== s ? null : d;
}

const DAY_MS = 86_400_000;

/** Checks `from` / `to` (400 naming the field) and lists every date of the range. */
export function reportDays(from: string | undefined, to: string | undefined): string[] {
  const bad = (field: string, message: string) =>
    new SettlementError(400, 'invalid_request', `${field}: ${message}`, {
      issues: [{ field, message }],
    });
  if (!from) throw bad('from', 'required, a date YYYY-MM-DD');
  if (!to) throw bad('to', 'required, a date YYYY-MM-DD');
  const a = calendarDay(from);
  if (!a) throw bad('from', `"${from}" is not a date YYYY-MM-DD`);
  const b = calendarDay(to);
  if (!b) throw bad('to', `"${to}" is not a date YYYY-MM-DD`);
  const days = (b.getTime() - a.getTime()) / DAY_MS + 1;
  if (days < 1) throw bad('to', 'must not be before from');
  if (days > MAX_REPORT_DAYS) throw bad('to', `a report covers at most ${MAX_REPORT_DAYS} days`);
  return Array.from({ length: days }, (_, i) =>
    new Date(a.getTime() + i * DAY_MS).toISOString().slice(0, 10),
  );
}

export async function salesReport(
  db: Queryable,
  o: { storeId: string; from?: string | undefined; to?: string | undefined },
): Promise<SalesReport> {
  const days = reportDays(o.from, o.to);
  const from = days[0]!;
  const to = days[days.length - 1]!;
  const [store] = await db.query<{ timezone: string; currency: string }>(
    'SELECT timezone, currency FROM stores WHERE id = $1',
    [o.storeId],
  );
  if (!store) throw notFound(`Store ${o.storeId}`, 'unknown_store');
  // The range's ends are the store's local midnights: `date::timestamp AT TIME ZONE zone` is
  // that wall-clock time in the zone, as an instant.
  const params = [o.storeId, from, to, store.timezone, store.currency];
  const sold = `
    SELECT o.settlement_id, s.total,
      to_char(o.created_at AT TIME ZONE $4, 'YYYY-MM-DD') AS day
    FROM orders o JOIN settlements s ON s.id = o.settlement_id
    WHERE o.store_id = $1 AND o.status IN ${SOLD} AND s.currency = $5
      AND o.created_at >= ($2::date)::timestamp AT TIME ZONE $4
      AND o.created_at < ($3::date + 1)::timestamp AT TIME ZONE $4`;
  const byDay = await db.query<{ day: string; total: number; orders: number }>(
    `SELECT day, sum(total)::bigint AS total, count(*)::int AS orders
     FROM (${sold}) x GROUP BY day`,
    params,
  );
  const products = await db.query<{ sku: string; name: string; qty: number; total: number }>(
    `SELECT l.sku, coalesce(p.name, max(l.name)) AS name, sum(l.qty)::bigint AS qty,
       sum(l.amount)::bigint AS total
     FROM (${sold}) x JOIN settlement_lines l ON l.settlement_id = x.settlement_id
       LEFT JOIN products p ON p.sku = l.sku
     GROUP BY l.sku, p.name ORDER BY total DESC, qty DESC, l.sku`,
    params,
  );
  const perDay = new Map(byDay.map((r) => [r.day, r]));
  return {
    storeId: o.storeId,
    timezone: store.timezone,
    from,
    to,
    currency: store.currency,
    total: byDay.reduce((a, r) => a + r.total, 0),
    orders: byDay.reduce((a, r) => a + r.orders, 0),
    items: products.reduce((a, r) => a + r.qty, 0),
    byDay: days.map((date) => ({
      date,
      total: perDay.get(date)?.total ?? 0,
      orders: perDay.get(date)?.orders ?? 0,
    })),
    topProducts: products.slice(0, TOP_PRODUCTS),
  };
}
