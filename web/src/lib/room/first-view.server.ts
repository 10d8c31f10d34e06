/**
 * The room's first view, rendered by the server (issue 11 item 12, decision 0020): the
 * catalog's first page and the room's cart as the room-server has it right now, so a phone
 * sees both (and can tap "add") before Yjs and the live room have arrived. Read with short
 * timeouts: whatever does not come in time is left to the live room, which fetches it as
 * before (the page then renders exactly what it rendered without a first view).
 */
import type { Product } from '@patungan/model/contracts';
import type { FirstView } from './first-view.ts';
import { config } from '$lib/server/config.ts';
import { log } from '$lib/server/log.ts';
import { settlementApi } from '$lib/server/settlement.ts';
import { serviceToken } from '$lib/server/tokens.ts';

/** The catalog page the first view shows: CatalogPanel's first request. */
const FIRST_PAGE = { page: 1, size: 12 } as const;

const TIMEOUT_MS = 1500;

interface CartAnswer {
  status: string;
  members: { id: string; name: string }[];
  lines: { id: string; sku: string; qty: number; addedBy: string }[];
}

async function cartOf(roomId: string): Promise<CartAnswer | null> {
  const res = await fetch(`${config.roomServerHttpUrl}/rooms/${encodeURIComponent(roomId)}/cart`, {
    headers: { authorization: `Bearer ${await serviceToken(roomId)}`, accept: 'application/json' },
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  if (!res.ok) return null;
  return (await res.json()) as CartAnswer;
}

/** Catalog page 1 and the cart, each null when it could not be had within ~1.5 s. */
export async function firstView(roomId: string): Promise<FirstView> {
  const api = settlementApi(TIMEOUT_MS);
  const [catalog, cart] = await Promise.all([
    api.products(FIRST_PAGE).catch((err: unknown) => {
      log.warn({ roomId, err: String(err) }, 'first view: catalog unavailable');
      return null;
    }),
    cartOf(roomId).catch((err: unknown) => {
      log.warn({ roomId, err: String(err) }, 'first view: cart unavailable');
      return null;
    }),
  ]);
  if (!cart) return { catalog, cart: null };
  const known = new Map<string, Product>((catalog?.items ?? []).map((p) => [p.sku, p]));
  const missing = [...new Set(cart.lines.map((l) => l.sku))].filter((s) => !known.has(s));
  await Promise.all(
    missing.slice(0, 50).map((sku) =>
      api
        .product(sku)
        .then((p) => void known.set(sku, p))
        .catch(() => undefined),
    ),
  );
  return {
    catalog,
    cart: {
      status: cart.status,
      members: cart.members,
      lines: cart.lines.map((l) => ({
        id: l.id,
        sku: l.sku,
        qty: l.qty,
        addedBy: l.addedBy,
        name: known.get(l.sku)?.name ?? null,
        price: known.get(l.sku)?.price ?? null,
      })),
    },
  };
}
