/**
 * The packing list: which units of which line go into whose bag at the store. A line belongs
 * to whoever added it; a line shared with members (`sharedWith`) is divided among them the
 * way the split divides its price (largest remainder, ties in member order), so each bag
 * holds what its owner's share pays for. Used by settlement (staff order view) and web
 * (receipts), so the store and the shopper see the same bags.
 */
import { allocate } from './split.ts';

export interface PackingLineInput {
  id: string;
  sku: string;
  name: string;
  qty: number;
  /** Minor units. */
  unitPrice: number;
  addedBy: string;
  sharedWith?: readonly string[] | undefined;
  note?: string | undefined;
}

export interface PackedLine {
  lineId: string;
  sku: string;
  name: string;
  /** Units of the line in this bag. */
  qty: number;
  /** Of the whole line (what the line was). */
  lineQty: number;
  unitPrice: number;
  /** Who else shares the line (member ids), when it is shared. */
  sharedWith?: string[];
  note?: string;
}

export interface Bag {
  memberId: string;
  name: string;
  lines: PackedLine[];
}

/**
 * One bag per member who gets at least one unit, in member order (organiser first, then by
 * join time). Every unit of every line is in exactly one bag. A line whose owners are no
 * longer members goes to the first member.
 */
export function packingList(
  members: readonly { id: string; name: string }[],
  lines: readonly PackingLineInput[],
): Bag[] {
  const ids = members.map((m) => m.id);
  const bags = members.map((m) => ({ memberId: m.id, name: m.name, lines: [] as PackedLine[] }));
  if (bags.length === 0) return [];
  for (const l of lines) {
    const on = (l.sharedWith?.length ? l.sharedWith : [l.addedBy]).filter((id) => ids.includes(id));
    const weights = ids.map((id) => (on.includes(id) ? 1 : 0));
    if (on.length === 0) weights[0] = 1;
    allocate(l.qty, weights).forEach((qty, i) => {
      if (qty <= 0) return;
      const others = on.filter((id) => id !== ids[i]);
      bags[i]!.lines.push({
        lineId: l.id,
        sku: l.sku,
        name: l.name,
        qty,
        lineQty: l.qty,
        unitPrice: l.unitPrice,
        ...(l.sharedWith?.length && others.length ? { sharedWith: others } : {}),
        ...(l.note ? { note: l.note } : {}),
      });
    });
  }
  return bags.filter((b) => b.lines.length > 0);
}
