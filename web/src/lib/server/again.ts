/**
 * "Patungan lagi" (docs/web.md): a completed room starts a new room with the same members,
 * cart (lines, notes, sharedWith) and split, checked against today's stock at the same store
 * and today's prices. The old cart comes from the room-server (`GET /rooms/<id>/cart`), the
 * old prices from the room's settlement, today's from settlement's catalog and stock; the new
 * room is made here and its first state written by the room-server (`PUT /rooms/<id>/seed`).
 */
import type { Db } from '@patungan/db';
import type { AgainChange, RoomSeed } from '@patungan/model/contracts';
import type { CartLine, SplitConfig } from '@patungan/model';
import { SettlementApiError } from '@patungan/model/settlement-client';
import { config } from './config.ts';
import { WebError } from './errors.ts';
import { log } from './log.ts';
import { createRoom, joinRoom, memberRole, type Room } from './rooms.ts';
import { settlementApi } from './settlement.ts';
import { serviceToken } from './tokens.ts';

/** What the room-server answers for `GET /rooms/<id>/cart` (room-server/src/again.ts). */
export interface OldCart {
  name: string;
  status: string;
  currency: string;
  organiser: string;
  storeId: string | null;
  split: SplitConfig;
  members: { id: string; name: string }[];
  lines: CartLine[];
  budgets?: Record<string, number>;
  budget?: number;
  settlementId?: string;
}

export interface Today {
  /** Unit price per sku today; absent: the catalog no longer sells it. */
  prices: ReadonlyMap<string, number>;
  /** Available per sku at the store today (absent: none). Null: no store to check. */
  available: ReadonlyMap<string, number> | null;
  /** Unit price per line id in the earlier order. */
  paid: ReadonlyMap<string, number>;
}

/**
 * The new cart and what changed: a line the store has none of (or the catalog no longer
 * sells) is left out, one it has fewer of asks for what there is (lines of the same product
 * share what is available, in cart order), a new price is kept and named. Pure.
 */
export function planAgain(
  lines: readonly CartLine[],
  today: Today,
): { lines: CartLine[]; changes: AgainChange[] } {
  const left = new Map(today.available ?? []);
  const out: CartLine[] = [];
  const changes: AgainChange[] = [];
  const priced = new Set<string>();
  for (const l of lines) {
    const price = today.prices.get(l.sku);
    if (price === undefined) {
      changes.push({ kind: 'gone', sku: l.sku, wanted: l.qty });
      continue;
    }
    let qty = l.qty;
    if (today.available) {
      const have = left.get(l.sku) ?? 0;
      if (have <= 0) {
        changes.push({ kind: 'out_of_stock', sku: l.sku, wanted: l.qty });
        continue;
      }
      if (have < qty) {
        changes.push({ kind: 'fewer', sku: l.sku, wanted: qty, available: have });
        qty = have;
      }
      left.set(l.sku, have - qty);
    }
    const was = today.paid.get(l.id);
    if (was !== undefined && was !== price && !priced.has(l.sku)) {
      priced.add(l.sku);
      changes.push({ kind: 'price', sku: l.sku, from: was, to: price });
    }
    out.push({ ...l, qty });
  }
  return { lines: out, changes };
}

async function roomServer<T>(method: 'GET' | 'PUT', roomId: string, path: string, body?: unknown) {
  const res = await fetch(
    `${config.roomServerHttpUrl}/rooms/${encodeURIComponent(roomId)}/${path}`,
    {
      method,
      headers: {
        authorization: `Bearer ${await serviceToken(roomId)}`,
        accept: 'application/json',
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(10_000),
    },
  ).catch((err: unknown) => {
    throw new WebError('upstream', 'The room server cannot be reached; try again.', {
      cause: String(err),
    });
  });
  const json = (await res.json().catch(() => null)) as T | null;
  return { status: res.status, body: json };
}

/** What settlement charged per line of the room's settlement (empty when it cannot say). */
async function paidPrices(settlementId: string | undefined, roomId: string) {
  const out = new Map<string, number>();
  if (!settlementId) return out;
  try {
    const res = await settlementApi().raw(`/settlements/${encodeURIComponent(settlementId)}`, {
      token: await serviceToken(roomId),
    });
    if (!res.ok) return out;
    const body = (await res.json()) as { lines?: { id: string; unitPrice: number }[] };
    for (const l of body.lines ?? []) out.set(l.id, l.unitPrice);
  } catch (err) {
    log.warn({ roomId, settlementId, err }, 'again: earlier prices unavailable');
  }
  return out;
}

async function todayOf(lines: readonly CartLine[], storeId: string | null, roomId: string) {
  const api = settlementApi();
  const skus = [...new Set(lines.map((l) => l.sku))];
  const prices = new Map<string, number>();
  await Promise.all(
    skus.map(async (sku) => {
      try {
        prices.set(sku, (await api.product(sku)).price);
      } catch (err) {
        if (err instanceof SettlementApiError && err.status === 404) return;
        throw new WebError('upstream', 'The catalog cannot be reached; try again.');
      }
    }),
  );
  let available: Map<string, number> | null = null;
  if (storeId) {
    try {
      available = new Map((await api.stock(storeId)).map((s) => [s.sku, s.available]));
    } catch (err) {
      log.warn({ roomId, storeId, err }, 'again: stock unavailable');
      throw new WebError('upstream', 'The store’s stock cannot be read; try again.');
    }
  }
  return { prices, available };
}

/**
 * Starts "Patungan lagi" from `old` for `user` (a member of it): makes the new room with the
 * same members, `user` its organiser, and seeds it. Returns the new room.
 */
export async function startAgain(
  db: Db,
  user: { id: string; name: string },
  old: Room,
): Promise<{ room: Room; changes: AgainChange[] }> {
  const role =
    (await memberRole(db, old.id, user.id)) ?? (old.organiserId === user.id ? 'organiser' : null);
  if (!role) throw new WebError('forbidden', 'Only the members of a room can start it again.');
  const got = await roomServer<OldCart>('GET', old.id, 'cart');
  if (got.status === 404 || !got.body) throw new WebError('not_found', 'No such room.');
  if (got.status !== 200) throw new WebError('upstream', 'The room server failed; try again.');
  const cart = got.body;
  if (cart.status !== 'completed') {
    throw new WebError('conflict', 'Only a completed room can be started again.');
  }
  const [paid, today] = await Promise.all([
    paidPrices(cart.settlementId, old.id),
    todayOf(cart.lines, cart.storeId, old.id),
  ]);
  const plan = planAgain(cart.lines, { ...today, paid });
  const room = await createRoom(db, user.id, { name: old.name, currency: old.currency });
  // Everyone who was in the room is in the new one (the directory and the document).
  const members = cart.members.some((m) => m.id === user.id)
    ? cart.members
    : [{ id: user.id, name: user.name }, ...cart.members];
  for (const m of members) {
    if (m.id !== user.id)
      await joinRoom(db, room, m.id).catch((err: unknown) =>
        log.warn({ roomId: room.id, memberId: m.id, err }, 'again: member not added'),
      );
  }
  // The organiser pays for everyone stays who it was, whoever starts the repeat.
  const split: SplitConfig =
    cart.split.mode === 'organiser' && !cart.split.payer
      ? { ...cart.split, payer: cart.organiser }
      : { ...cart.split };
  delete split.budgets;
  delete split.paysOverage;
  const seed: RoomSeed = {
    name: old.name,
    currency: cart.currency,
    organiser: user.id,
    members: [
      { id: user.id, name: members.find((m) => m.id === user.id)?.name ?? user.name },
      ...members.filter((m) => m.id !== user.id),
    ],
    lines: plan.lines.map((l) => ({
      id: l.id,
      sku: l.sku,
      qty: l.qty,
      addedBy: l.addedBy,
      ...(l.note ? { note: l.note } : {}),
      ...(l.sharedWith?.length ? { sharedWith: l.sharedWith } : {}),
    })),
    split: { ...split },
    ...(cart.storeId ? { storeId: cart.storeId } : {}),
    ...(cart.budget ? { budget: cart.budget } : {}),
    ...(cart.budgets ? { budgets: cart.budgets } : {}),
    again: { from: old.id, changes: plan.changes },
  };
  const put = await roomServer<unknown>('PUT', room.id, 'seed', seed);
  if (put.status !== 201 && put.status !== 200) {
    log.error(
      { roomId: room.id, from: old.id, status: put.status, body: put.body },
      'again: seed refused',
    );
    throw new WebError('upstream', 'The new room could not be prepared; try again.');
  }
  log.info(
    {
      roomId: room.id,
      from: old.id,
      userId: user.id,
      lines: plan.lines.length,
      changes: plan.changes.length,
    },
    'patungan lagi',
  );
  return { room, changes: plan.changes };
}
