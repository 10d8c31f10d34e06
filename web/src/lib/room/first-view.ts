/** What the room page's server load renders first (first-view.server.ts reads it). */
import type { ProductPage } from '@patungan/model/contracts';

export interface FirstLine {
  id: string;
  sku: string;
  qty: number;
  addedBy: string;
  /** From the catalog; null when settlement did not say in time. */
  name: string | null;
  price: number | null;
}

export interface FirstView {
  catalog: ProductPage | null;
  /** Null when the room-server did not answer in time (or the room has no state yet). */
  cart: { status: string; lines: FirstLine[]; members: { id: string; name: string }[] } | null;
}
