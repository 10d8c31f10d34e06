import { describe, expect, it } from 'vitest';
import { applyStockEvent, shortages, wantedBySku, type Store } from '../src/lib/room/stores.ts';

const store = (id: string, availability: Store['availability']): Store => ({
  id,
  name: id,
  address: 'Jl. Test 1',
  city: 'Jakarta',
  lat: 0,
  lng: 0,
  availability,
});

describe('store picker availability', () => {
  const lines = [
    { id: 'a', sku: 'teh', qty: 2, addedBy: 'ani' },
    { id: 'b', sku: 'teh', qty: 1, addedBy: 'budi' },
    { id: 'c', sku: 'kopi', qty: 1, addedBy: 'budi' },
  ];

  it('adds up the whole cart per sku and names what a store lacks', () => {
    const wanted = wantedBySku(lines);
    expect([...wanted]).toEqual([
      ['teh', 3],
      ['kopi', 1],
    ]);
    expect(
      shortages(
        store('s', [
          { sku: 'teh', available: 3 },
          { sku: 'kopi', available: 5 },
        ]),
        wanted,
      ),
    ).toEqual([]);
    expect(shortages(store('s', [{ sku: 'teh', available: 2 }]), wanted)).toEqual([
      { sku: 'teh', wanted: 3, available: 2 },
      { sku: 'kopi', wanted: 1, available: 0 },
    ]);
  });

  it('applies live stock events and snapshots to the right store only', () => {
    const stores = [
      store('s1', [{ sku: 'teh', available: 3 }]),
      store('s2', [{ sku: 'teh', available: 9 }]),
    ];
    const after = applyStockEvent(stores, 's1', {
      type: 'stock',
      storeId: 's1',
      sku: 'teh',
      available: 1,
      onHand: 4,
    });
    expect(after?.map((s) => s.availability)).toEqual([
      [{ sku: 'teh', available: 1 }],
      [{ sku: 'teh', available: 9 }],
    ]);
    const snap = applyStockEvent(stores, 's2', {
      storeId: 's2',
      items: [{ sku: 'kopi', available: 2 }],
    });
    expect(snap?.[1]!.availability).toEqual([
      { sku: 'teh', available: 9 },
      { sku: 'kopi', available: 2 },
    ]);
    // Anything else asks the caller to refetch.
    expect(applyStockEvent(stores, 's1', { hello: 'world' })).toBeNull();
    expect(applyStockEvent(stores, 's1', null)).toBeNull();
  });
});
