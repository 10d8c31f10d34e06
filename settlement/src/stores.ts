/** Stores: nearest with per-sku availability, and staff order listings. */
import type { NearbyStores, OrderStatus, Store, StoreOrder } from '@patungan/model/contracts';
import { packingList } from '@patungan/model';
import type { Queryable } from '@patungan/db';
import { SettlementError, notFound } from './errors.ts';

/** The store as the contract shapes it (docs/contracts.md "Settlement API" › "Shapes"). */
export type { Store };

interface StoreRow {
  id: string;
  name: string;
  address: string;
  city: string;
  region: string;
  lat: number;
  lng: number;
  opening_hours: string;
  timezone: string;
}

const toStore = (r: StoreRow): Store => ({
  id: r.id,
  name: r.name,
  address: r.address,
  city: r.city,
  region: r.region,
  lat: r.lat,
  lng: r.lng,
  openingHours: r.opening_hours,
  timezone: r.timezone,
});

/** Great-circle distance in km (haversine). */
export function distanceKm(aLat: number, aLng: number, bLat: number, bLng: number): number {
  const rad = Math.PI / 180;
  const dLat = (bLat - aLat) * rad;
  const dLng = (bLng - aLng) * rad;
  const h =
    Math.sin(dLat / 2) ** 2 + Math.cos(aLat * rad) * Math.cos(bLat * rad) * Math.sin(dLng / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Parses `a,b` or `a:2,b:1` into sku → wanted quantity (repeats add up). */
export function parseSkuList(s: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const part of (s ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)) {
    const [sku, q] = part.split(':');
    const qty = q === undefined ? 1 : Number(q);
    if (!sku || !Number.isInteger(qty) || qty < 1 || qty > 9999) {
      throw new SettlementError(
        400,
        'invalid_request',
        `skus: "${part}" is not sku or sku:quantity`,
        { field: 'skus' },
      );
    }
    out.set(sku, (out.get(sku) ?? 0) + qty);
  }
  return out;
}

export async function getStore(db: Queryable, id: string): Promise<Store> {
  const [r] = await db.query<StoreRow>('SELECT * FROM stores WHERE id = $1', [id]);
  if (!r) throw notFound(`Store ${id}`, 'unknown_store');
  return toStore(r);
}

export async function nearestStores(
  db: Queryable,
  o: {
    lat?: number | undefined;
    lng?: number | undefined;
    skus: Map<string, number>;
    limit: number;
  },
): Promise<NearbyStores> {
  const skus = [...o.skus.keys()];
  if (skus.length > 0) {
    const known = await db.query<{ sku: string }>(
      'SELECT sku FROM products WHERE sku = ANY($1::text[])',
      [skus],
    );
    const missing = skus.filter((s) => !known.some((k) => k.sku === s));
    if (missing.length > 0) {
      throw new SettlementError(404, 'unknown_sku', `Unknown product ${missing.join(', ')}`, {
        skus: missing,
      });
    }
  }
  const stores = await db.query<StoreRow>('SELECT * FROM stores');
  const stock = skus.length
    ? await db.query<{ store_id: string; sku: string; available: number }>(
        `SELECT store_id, sku, on_hand - held - committed AS available FROM stock WHERE sku = ANY($1::text[])`,
        [skus],
      )
    : [];
  const avail = new Map(stock.map((r) => [`${r.store_id}\u0000${r.sku}`, r.available]));
  const hasPoint = o.lat !== undefined && o.lng !== undefined;
  const items = stores.map((r) => {
    const availability = skus.map((sku) => ({
      sku,
      wanted: o.skus.get(sku)!,
      available: avail.get(`${r.id}\u0000${sku}`) ?? 0,
    }));
    return {
      ...toStore(r),
      distanceKm: hasPoint ? Math.round(distanceKm(o.lat!, o.lng!, r.lat, r.lng) * 10) / 10 : null,
      availability,
      canFulfil: availability.every((a) => a.available >= a.wanted),
    };
  });
  items.sort((a, b) => (a.distanceKm ?? 0) - (b.distanceKm ?? 0) || a.name.localeCompare(b.name));
  return { items: items.slice(0, o.limit), total: items.length };
}

export async function listOrders(
  db: Queryable,
  o: {
    storeId: string;
    status?: string | undefined;
    page: number;
    size: number;
    pickupCode?: string;
    orderId?: string;
    orderRef?: string;
  },
): Promise<{ items: StoreOrder[]; total: number; page: number; size: number }> {
  const params: unknown[] = [o.storeId];
  let where = 'o.store_id = $1';
  if (o.status) {
    params.push(o.status);
    where += ` AND o.status = $${params.length}`;
  }
  if (o.orderId) {
    params.push(o.orderId);
    where += ` AND o.id = $${params.length}`;
  }
  if (o.pickupCode) {
    params.push(o.pickupCode.toUpperCase());
    where += ` AND o.pickup_code = $${params.length}`;
  }
  if (o.orderRef) {
    params.push(o.orderRef.toUpperCase());
    where += ` AND s.order_ref = $${params.length}`;
  }
  params.push(o.size, (o.page - 1) * o.size);
  const rows = await db.query<{
    id: string;
    settlement_id: string;
    room_id: string;
    status: OrderStatus;
    order_ref: string | null;
    organiser: string;
    collector: string | null;
    members: { id: string; name: string }[] | null;
    created_at: Date;
    updated_at: Date;
    total: number;
    currency: string;
    n: number;
  }>(
    `SELECT o.id, o.settlement_id, o.room_id, o.status, s.order_ref, s.organiser, s.collector,
       s.members, o.created_at, o.updated_at, s.total, s.currency, count(*) OVER () AS n
     FROM orders o JOIN settlements s ON s.id = o.settlement_id
     WHERE ${where} ORDER BY o.created_at DESC, o.id LIMIT $${params.length - 1} OFFSET $${params.length}`,
    params,
  );
  const ids = rows.map((r) => r.settlement_id);
  const lines = ids.length
    ? await db.query<{
        settlement_id: string;
        line_id: string;
        sku: string;
        name: string;
        qty: number;
        unit_price: number;
        added_by: string;
        shared_with: string[] | null;
        note: string | null;
      }>(
        `SELECT settlement_id, line_id, sku, name, qty, unit_price, added_by, shared_with, note
         FROM settlement_lines WHERE settlement_id = ANY($1::text[]) ORDER BY sku, line_id`,
        [ids],
      )
    : [];
  const payments = ids.length
    ? await db.query<{
        settlement_id: string;
        member_id: string;
        member_name: string;
        amount: number;
        method: string;
        status: string;
      }>(
        `SELECT settlement_id, member_id, member_name, amount, method, status FROM payments
         WHERE settlement_id = ANY($1::text[]) ORDER BY position`,
        [ids],
      )
    : [];
  const items = rows.map((r): StoreOrder => {
    const own = lines.filter((l) => l.settlement_id === r.settlement_id);
    const paid = payments.filter((p) => p.settlement_id === r.settlement_id);
    // Older settlements did not keep their members: those with a payment are the ones known.
    const members = r.members ?? paid.map((p) => ({ id: p.member_id, name: p.member_name }));
    const nameOf = (id: string) => members.find((m) => m.id === id)?.name ?? id;
    const collector = r.collector ?? r.organiser;
    const bags = packingList(
      members,
      own.map((l) => ({
        id: l.line_id,
        sku: l.sku,
        name: l.name,
        qty: l.qty,
        unitPrice: l.unit_price,
        addedBy: l.added_by,
        sharedWith: l.shared_with ?? undefined,
        note: l.note ?? undefined,
      })),
    );
    return {
      id: r.id,
      ...(r.order_ref ? { orderRef: r.order_ref } : {}),
      settlementId: r.settlement_id,
      roomId: r.room_id,
      status: r.status,
      total: r.total,
      currency: r.currency,
      createdAt: r.created_at.toISOString(),
      updatedAt: r.updated_at.toISOString(),
      lines: own.map((l) => ({
        sku: l.sku,
        name: l.name,
        qty: l.qty,
        ...(l.note ? { note: l.note } : {}),
      })),
      dueAtStore: paid
        .filter((p) => p.status === 'due_at_store')
        .map((d) => ({ memberId: d.member_id, name: d.member_name, amount: d.amount })),
      collector: { memberId: collector, name: nameOf(collector) },
      // a member who paid a share but put nothing in the cart still gets a receipt: an empty bag
      bags: [
        ...bags,
        ...paid
          .filter((p) => !bags.some((b) => b.memberId === p.member_id))
          .map((p) => ({ memberId: p.member_id, name: nameOf(p.member_id), lines: [] })),
      ].map((b) => {
        const p = paid.find((x) => x.member_id === b.memberId);
        return {
          ...b,
          lines: b.lines.map((l) =>
            l.sharedWith ? { ...l, sharedWith: l.sharedWith.map(nameOf) } : l,
          ),
          ...(p ? { amount: p.amount, method: p.method, paymentStatus: p.status } : {}),
        };
      }),
    };
  });
  return { items, total: rows[0]?.n ?? 0, page: o.page, size: o.size };
}

export async function getOrder(db: Queryable, id: string) {
  const [o] = await db.query<{ id: string; store_id: string; settlement_id: string }>(
    'SELECT id, store_id, settlement_id FROM orders WHERE id = $1',
    [id],
  );
  if (!o) throw notFound(`Order ${id}`);
  return o;
}
