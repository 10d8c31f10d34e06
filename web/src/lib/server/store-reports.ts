/**
 * What the staff report and stock pages ask of settlement (docs/contracts.md "Store reports
 * and stock tools"), through the one settlement client with a staff token signed for the
 * signed-in staff member; failures are WebErrors (settlement.ts's webError).
 */
import {
  StockImportResultSchema,
  type SalesReport,
  type StockImportResult,
} from '@patungan/model/contracts';
import { SettlementApiError } from '@patungan/model/settlement-client';
import { settlementApi, webError } from './settlement.ts';
import { tokenFor } from './staff.ts';

type Staff = { id: string; name: string };

/** The calendar date `days` before `date` (`YYYY-MM-DD`). */
export function daysBefore(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) - days * 86_400_000).toISOString().slice(0, 10);
}

/** Today's date in `timeZone`. */
export function todayIn(timeZone: string, now = new Date()): string {
  // en-CA formats a date as YYYY-MM-DD
  return new Intl.DateTimeFormat('en-CA', { timeZone, dateStyle: 'short' }).format(now);
}

/** The store's time zone (WIB when settlement does not say). */
export async function storeZone(storeId: string): Promise<{ name: string; timezone: string }> {
  try {
    const s = await settlementApi().store(storeId);
    return { name: s.name, timezone: s.timezone ?? 'Asia/Jakarta' };
  } catch (err) {
    const e = webError(err);
    if (e instanceof Error && 'code' in e && e.code === 'not_found') {
      return { name: storeId, timezone: 'Asia/Jakarta' };
    }
    throw e;
  }
}

export async function salesReport(
  user: Staff,
  storeId: string,
  range: { from: string; to: string },
): Promise<SalesReport> {
  try {
    return await settlementApi().salesReport(storeId, range, await tokenFor(user, storeId));
  } catch (err) {
    throw webError(err);
  }
}

export async function stockCsv(user: Staff, storeId: string): Promise<string> {
  try {
    return await settlementApi().stockCsv(storeId, await tokenFor(user, storeId));
  } catch (err) {
    throw webError(err);
  }
}

export async function lowStock(user: Staff, storeId: string, below: number | undefined) {
  try {
    return await settlementApi().lowStock(storeId, below, await tokenFor(user, storeId));
  } catch (err) {
    throw webError(err);
  }
}

/**
 * A dry run or an apply of a stock CSV. A refused apply (`422 invalid_rows`) answers its result
 * (the row errors) instead of throwing, as a dry run would.
 */
export async function importStock(
  user: Staff,
  storeId: string,
  o: { csv: string; dryRun: boolean },
): Promise<StockImportResult> {
  try {
    return await settlementApi().importStock(storeId, o, await tokenFor(user, storeId));
  } catch (err) {
    if (err instanceof SettlementApiError && err.code === 'invalid_rows') {
      const r = StockImportResultSchema.safeParse(err.details);
      if (r.success) return r.data;
    }
    throw webError(err);
  }
}
