/**
 * The store picker's live list (nearest stores with the cart's availability, kept current by
 * the stock streams), shared with the checkout on the same tab: the checkout warns before
 * finalising at a store that is short and suggests the nearest one that has everything,
 * without a second fetch or a second set of streams.
 */
import type { Store } from './stores.ts';

export class StoreBoard {
  /** As the picker last had it; empty until its first answer. */
  stores = $state.raw<Store[]>([]);
}

const boards = new WeakMap<object, StoreBoard>();

/** The board of one room (one per `Room` object, gone with it). */
export function storeBoard(room: object): StoreBoard {
  let b = boards.get(room);
  if (!b) {
    b = new StoreBoard();
    boards.set(room, b);
  }
  return b;
}
