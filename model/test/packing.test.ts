/**
 * The packing list (model/src/packing.ts): every unit of every line in exactly one bag, a shared
 * line divided the way the split divides its price, bags in member order.
 */
import { describe, expect, it } from 'vitest';
import { packingList } from '../src/packing.ts';

const members = [
  { id: 'ana', name: 'Ana' },
  { id: 'budi', name: 'Budi' },
  { id: 'citra', name: 'Citra' },
];
const line = (o: Partial<Parameters<typeof packingList>[1][number]> & { id: string }) => ({
  sku: o.id.toUpperCase(),
  name: o.id,
  qty: 1,
  unitPrice: 1000,
  addedBy: 'ana',
  ...o,
});

describe('packing list', () => {
  it('puts each line in its owner’s bag and divides shared lines by largest remainder', () => {
    const bags = packingList(members, [
      line({ id: 'tea', qty: 2, note: 'cold' }),
      line({ id: 'rice', qty: 5, addedBy: 'budi', sharedWith: ['ana', 'budi', 'citra'] }),
      line({ id: 'cake', qty: 1, addedBy: 'citra', sharedWith: ['budi', 'citra'] }),
    ]);
    const units = bags.map((b) => [b.name, b.lines.map((l) => `${l.qty} ${l.lineId}`)]);
    expect(units).toEqual([
      ['Ana', ['2 tea', '2 rice']],
      ['Budi', ['2 rice', '1 cake']],
      ['Citra', ['1 rice']],
    ]);
    expect(bags[0]!.lines[0]).toMatchObject({ note: 'cold', lineQty: 2 });
    expect(bags[1]!.lines[1]!.sharedWith).toEqual(['citra']);
    // every unit is packed once
    const packed = bags.flatMap((b) => b.lines).reduce((a, l) => a + l.qty, 0);
    expect(packed).toBe(2 + 5 + 1);
  });

  it('gives a line whose owners left to the first member, and has no empty bags', () => {
    const bags = packingList(members, [line({ id: 'tea', addedBy: 'gone' })]);
    expect(bags.map((b) => b.memberId)).toEqual(['ana']);
    expect(packingList([], [line({ id: 'tea' })])).toEqual([]);
  });
});
