/**
 * The store's side (docs/contracts.md "Settlement API" › "Store reports and stock tools"):
 * the sales report and the staff stock tools (CSV import with its dry run, low stock), as
 * settlement answers them and web's staff pages read them.
 */
import { z } from 'zod';
import { StockItemSchema } from './catalog.ts';

const minor = z.number().int();
const count = z.number().int().nonnegative();
/** A calendar date in the store's time zone. */
const localDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);

/**
 * `GET /stores/<id>/reports/sales?from=&to=`: paid and completed orders (not cancelled) whose
 * payment completed between `from` and `to` inclusive, in the store's local dates. Every day
 * of the range is in `byDay`, in order, with zeros on a day without sales.
 */
export const SalesReportSchema = z.object({
  storeId: z.string(),
  /** The store's IANA time zone: the dates are its local dates. */
  timezone: z.string(),
  from: localDate,
  to: localDate,
  currency: z.string(),
  /** Sum of the orders' totals, minor units. */
  total: minor,
  orders: count,
  /** Units sold (sum of line quantities). */
  items: count,
  byDay: z.array(z.object({ date: localDate, total: minor, orders: count })),
  /** Best sellers by revenue, then units. */
  topProducts: z.array(z.object({ sku: z.string(), name: z.string(), qty: count, total: minor })),
});
export type SalesReport = z.infer<typeof SalesReportSchema>;

/** One row of a stock CSV that cannot be applied (`row` counts the header as 1). */
export const StockImportRowErrorSchema = z.object({
  row: z.number().int().positive(),
  sku: z.string().optional(),
  code: z.enum([
    'unknown_sku',
    'not_an_integer',
    'negative',
    'too_large',
    'below_reserved',
    'duplicate_sku',
    'missing_sku',
  ]),
  message: z.string(),
  /** For `below_reserved`: the least the row may say (held + committed). */
  min: count.optional(),
});
export type StockImportRowError = z.infer<typeof StockImportRowErrorSchema>;

/**
 * `POST /stores/<id>/stock/import` `{csv, dryRun}`: what the file changes, sku by sku
 * (`before` → `after` on hand), and every row that cannot be applied. A dry run changes
 * nothing; an apply writes every change or, with any row error, none (`422 invalid_rows`
 * with this body as `details`).
 */
export const StockImportResultSchema = z.object({
  dryRun: z.boolean(),
  applied: z.boolean(),
  rows: count,
  unchanged: count,
  changes: z.array(
    z.object({
      sku: z.string(),
      name: z.string(),
      before: count,
      after: count,
      held: count,
      committed: count,
    }),
  ),
  errors: z.array(StockImportRowErrorSchema),
});
export type StockImportResult = z.infer<typeof StockImportResultSchema>;

/** `GET /stores/<id>/stock/low?below=`: skus whose available stock is under the threshold. */
export const LowStockSchema = z.object({
  below: count,
  items: z.array(StockItemSchema.extend({ name: z.string() })),
});
export type LowStock = z.infer<typeof LowStockSchema>;
