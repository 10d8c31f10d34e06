/**
 * A completed order, the way a real one gets there: the settlement is created, every share is
 * authorised on the local pay page, and the store's staff move the order packed → ready for
 * pickup → completed with the shoppers' pickup code. The one place tests (settlement's and
 * web's) complete an order.
 */
import { signToken } from '@patungan/model';

/** Just enough of a running settlement: its URL and the token secret. */
export interface SettlementAt {
  url: string;
  secret: string;
}

export interface CompletedOrder {
  settlementId: string;
  orderId: string;
  roomId: string;
  storeId: string;
}

async function call(
  at: SettlementAt,
  method: string,
  path: string,
  o: { token?: string; body?: unknown; key?: string } = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON as settlement answers
): Promise<any> {
  const res = await fetch(at.url + path, {
    method,
    headers: {
      ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
      ...(o.key ? { 'idempotency-key': o.key } : {}),
    },
    ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
  });
  const body: unknown = await res.json().catch(() => null);
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

/**
 * Runs `snapshot` (a `POST /settlements` body) through to a completed order. Stock of each
 * line is topped up first, so the test does not depend on the demo stock.
 */
export async function completeOrder(
  at: SettlementAt,
  snapshot: {
    roomId: string;
    storeId: string;
    cartVersion: string;
    lines: { sku: string; qty: number; [field: string]: unknown }[];
    [field: string]: unknown;
  },
  /** `paid`: stop once the group has paid (the order is open, not handed over). */
  through: 'paid' | 'completed' = 'completed',
): Promise<CompletedOrder> {
  const staff = await signToken(
    { sub: 'test-staff', name: 'test-staff', store: snapshot.storeId, role: 'staff' },
    at.secret,
  );
  const service = await signToken(
    { sub: 'test', name: 'test', room: snapshot.roomId, role: 'service' },
    at.secret,
  );
  for (const l of snapshot.lines) {
    const stock = await call(at, 'GET', `/stores/${snapshot.storeId}/stock`);
    const row = stock.items.find((i: { sku: string }) => i.sku === l.sku);
    await call(at, 'PUT', `/stores/${snapshot.storeId}/stock/${l.sku}`, {
      token: staff,
      body: { onHand: (row?.onHand ?? 0) + l.qty },
    });
  }
  const created = await call(at, 'POST', '/settlements', {
    token: service,
    body: snapshot,
    key: `${snapshot.roomId}:${snapshot.cartVersion}`,
  });
  for (const p of created.payments) {
    await call(at, 'POST', `/pay/${p.paymentId}`, { body: { action: 'authorize' } });
  }
  let orderId: string | undefined;
  for (const end = Date.now() + 15_000; !orderId;) {
    const v = await call(at, 'GET', `/settlements/${created.id}`, { token: service });
    if (v.status === 'paid' && v.orderId) orderId = v.orderId as string;
    else if (Date.now() > end) throw new Error(`settlement ${created.id} never paid: ${v.status}`);
    else await new Promise((r) => setTimeout(r, 50));
  }
  for (const status of through === 'paid' ? [] : ['packed', 'ready_for_pickup', 'completed']) {
    // Completing is the handover: staff type the code the shoppers show (it exists once the
    // order is ready for pickup, and the shoppers' view carries it).
    const pickupCode =
      status === 'completed'
        ? ((await call(at, 'GET', `/settlements/${created.id}`, { token: service }))
            .pickupCode as string)
        : undefined;
    await call(at, 'POST', `/orders/${orderId}/status`, {
      token: staff,
      body: { status, ...(pickupCode ? { pickupCode } : {}) },
    });
  }
  return {
    settlementId: created.id as string,
    orderId,
    roomId: snapshot.roomId,
    storeId: snapshot.storeId,
  };
}
