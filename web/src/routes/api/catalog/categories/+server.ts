/**
 * `GET /api/catalog/categories` → `{items: [{id, label}]}`. Settlement's `/categories` when it
 * has one; otherwise gathered from the product list once and kept for five minutes.
 */
import { json } from '@sveltejs/kit';
import { SettlementApiError } from '@patungan/model/settlement-client';
import { errorResponse } from '$lib/room/settlement-proxy.server.ts';
import { settlementApi } from '$lib/server/settlement.ts';
import type { RequestHandler } from './$types';

interface Category {
  id: string;
  label: string;
}

let cached: { at: number; items: Category[] } | null = null;
const TTL_MS = 5 * 60_000;

function label(id: string): string {
  return id
    .split(/[-_]/)
    .map((w) => (w ? w[0]!.toUpperCase() + w.slice(1) : w))
    .join(' ');
}

async function load(signal: AbortSignal): Promise<Category[]> {
  const api = settlementApi();
  try {
    return (await api.categories({ signal })).map((c) => ({ id: c.id, label: label(c.id) }));
  } catch (err) {
    // An older settlement without `/categories`: gather them from the products.
    if (!(err instanceof SettlementApiError) || err.status !== 404) throw err;
  }
  const seen = new Map<string, Category>();
  for (const p of await api.allProducts({ signal })) {
    if (!seen.has(p.category)) seen.set(p.category, { id: p.category, label: label(p.category) });
  }
  return [...seen.values()];
}

export const GET: RequestHandler = async () => {
  if (!cached || Date.now() - cached.at > TTL_MS) {
    try {
      cached = { at: Date.now(), items: await load(AbortSignal.timeout(10_000)) };
    } catch {
      return errorResponse(
        502,
        'settlement_unavailable',
        'The catalog is not reachable right now.',
      );
    }
  }
  return json({ items: cached.items }, { headers: { 'cache-control': 'public, max-age=300' } });
};
