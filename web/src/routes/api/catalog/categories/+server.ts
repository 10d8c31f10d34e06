/**
 * `GET /api/catalog/categories` → `{items: [{id, label}]}`. Settlement's `/categories` when it
 * has one; otherwise gathered from the product list once and kept for five minutes.
 */
import { json } from '@sveltejs/kit';
import { config } from '$lib/server/config.ts';
import { errorResponse } from '$lib/room/settlement-proxy.server.ts';
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
  const direct = await fetch(`${config.settlementUrl}/categories`, { signal });
  if (direct.ok) {
    const body = (await direct.json()) as { items?: unknown[] };
    return (body.items ?? []).flatMap((c) => {
      if (typeof c === 'string') return [{ id: c, label: label(c) }];
      const o = c as { id?: unknown; label?: unknown; name?: unknown };
      if (typeof o?.id !== 'string') return [];
      const l =
        typeof o.label === 'string' ? o.label : typeof o.name === 'string' ? o.name : label(o.id);
      return [{ id: o.id, label: l }];
    });
  }
  const seen = new Map<string, Category>();
  for (let page = 1; page <= 20; page++) {
    const res = await fetch(`${config.settlementUrl}/products?page=${page}&size=100`, { signal });
    if (!res.ok) throw new Error(`products ${res.status}`);
    const body = (await res.json()) as { items: { category: string }[]; total?: number };
    for (const p of body.items)
      if (!seen.has(p.category)) seen.set(p.category, { id: p.category, label: label(p.category) });
    if (body.items.length < 100 || (body.total !== undefined && page * 100 >= body.total)) break;
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
