/**
 * A shopper's order history and their reviews, and a store's reviews for its staff
 * (docs/contracts.md "Reviews", "Order history"). The browser talks only to web (decision
 * 0007): web reads a member's orders from settlement with its own service token (every room),
 * and writes a review with a member token it signs for the user in the room of the order —
 * after checking here that the user is a member of that room; settlement checks the purchase.
 */
import type { MemberOrder, StoreReview } from '@patungan/model/contracts';
import { SettlementApiError } from '@patungan/model/settlement-client';
import type { MessageKey } from '$lib/i18n/translate.ts';
import { getDb } from './app.ts';
import { log } from './log.ts';
import { memberRole } from './rooms.ts';
import { settlementApi, webError } from './settlement.ts';
import { roomToken, serviceToken, staffToken } from './tokens.ts';

export interface HistoryOrder extends MemberOrder {
  /** The room's name in web, or null when web no longer knows the room. */
  roomName: string | null;
}

/** The user's orders, newest first, with their rooms' names. */
export async function orderHistory(userId: string): Promise<HistoryOrder[]> {
  let orders: MemberOrder[];
  try {
    orders = await settlementApi().memberOrders(userId, await serviceToken('*'));
  } catch (err) {
    throw webError(err);
  }
  const ids = [...new Set(orders.map((o) => o.roomId))];
  const names = new Map<string, string>();
  if (ids.length) {
    const db = await getDb();
    const rows = await db.query<{ id: string; name: string }>(
      'SELECT id, name FROM rooms WHERE id = ANY($1::text[])',
      [ids],
    );
    for (const r of rows) names.set(r.id, r.name);
  }
  return orders.map((o) => ({ ...o, roomName: names.get(o.roomId) ?? null }));
}

/** Whether the user had a share in an order of `roomId` (settlement's record, not web's). */
async function hadOrderIn(userId: string, roomId: string): Promise<boolean> {
  const orders = await settlementApi().memberOrders(userId, await serviceToken('*'));
  return orders.some((o) => o.roomId === roomId);
}

export interface ReviewInput {
  roomId: string;
  sku: string;
  rating: number;
  text: string;
}

/** Why a review was refused, as the page words it. */
export interface ReviewRefusal {
  status: number;
  key: MessageKey;
  params?: Record<string, number>;
}

/**
 * Writes the user's review of `sku` as a member of `roomId` (settlement checks that a
 * completed order of that room contained it). Null when written, else why not.
 */
export async function submitReview(
  user: { id: string; name: string },
  input: ReviewInput,
): Promise<ReviewRefusal | null> {
  const text = input.text.trim();
  try {
    // A member of the room signs their own role; someone who has left it since still had a
    // share in its order, and the order history (settlement's own record) says so.
    const role =
      (await memberRole(await getDb(), input.roomId, user.id)) ??
      ((await hadOrderIn(user.id, input.roomId)) ? 'member' : null);
    if (!role) return { status: 403, key: 'reviews.error.notBuyer' };
    const r = await settlementApi().writeReview(
      input.sku,
      { rating: input.rating, ...(text ? { text } : {}) },
      await roomToken(user, input.roomId, role),
    );
    log.info(
      { userId: user.id, roomId: input.roomId, sku: input.sku, status: r.status },
      'review written',
    );
    return null;
  } catch (err) {
    if (!(err instanceof SettlementApiError) || err.status === 0 || err.status >= 500) {
      throw webError(err);
    }
    log.warn(
      { userId: user.id, roomId: input.roomId, sku: input.sku, status: err.status, code: err.code },
      'review refused',
    );
    if (err.status === 429) {
      const seconds = Number(err.details?.retryAfterSeconds) || 60;
      return { status: 429, key: 'reviews.error.tooMany', params: { seconds } };
    }
    if (err.status === 403 || err.status === 404) {
      return { status: 403, key: 'reviews.error.notBuyer' };
    }
    const html = JSON.stringify(err.details ?? {}).includes('no HTML');
    return { status: 400, key: html ? 'reviews.error.html' : 'reviews.error.invalid' };
  }
}

/** The reviews of purchases made at `storeId`, newest first (a staff token for that store). */
export async function storeReviews(
  user: { id: string; name: string },
  storeId: string,
): Promise<StoreReview[]> {
  try {
    return await settlementApi().storeReviews(storeId, await staffToken(user, storeId));
  } catch (err) {
    throw webError(err);
  }
}
