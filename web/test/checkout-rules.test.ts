/**
 * The checkout's rules, apart from the page (issue 11 items 5 and 6): reading a refusal the
 * room carries, when it stops applying, which store to suggest, and a split that is checked
 * before it is saved (named by member, with the amount, never just model's English).
 */
import { describe, expect, it } from 'vitest';
import {
  nearestComplete,
  nearestInAnotherRegion,
  readRefusal,
  refusalStillShort,
  wantedBySku,
  type Store,
} from '../src/lib/room/stores.ts';
import { checkSplit, summarise, type SplitInputs } from '../src/lib/room/split-panel.ts';

const store = (id: string, availability: Store['availability']): Store => ({
  id,
  name: `Toko ${id}`,
  address: 'Jl. Test 1',
  city: 'Jakarta',
  lat: 0,
  lng: 0,
  availability,
});

const refusal = {
  code: 'insufficient_stock',
  storeId: 'a',
  storeName: 'Toko a',
  short: [{ sku: 'CAM-0001', name: 'Kamera Saku', wanted: 3, available: 0 }],
};

describe('a stock refusal in the room', () => {
  const wanted = wantedBySku([{ id: 'l1', sku: 'CAM-0001', qty: 3, addedBy: 'ani' }]);

  it('is read field by field; anything else is no refusal', () => {
    expect(readRefusal(refusal)).toEqual({ ...refusal, region: null });
    expect(readRefusal({ code: 'settlement_unavailable' })).toEqual({
      code: 'settlement_unavailable',
      storeId: null,
      storeName: null,
      short: [],
      region: null,
    });
    expect(
      readRefusal({ code: 'region_unavailable', storeId: 'a', region: 'dki-jakarta' }),
    ).toMatchObject({ code: 'region_unavailable', storeId: 'a', region: 'dki-jakarta' });
    expect(readRefusal('2 × Teh Botol short')).toBeNull();
    expect(readRefusal({ short: [] })).toBeNull();
    // an item without a name is named by its sku rather than dropped
    expect(
      readRefusal({ ...refusal, short: [{ sku: 'X', wanted: 1, available: 0 }, { sku: 1 }] })
        ?.short,
    ).toEqual([{ sku: 'X', name: 'X', wanted: 1, available: 0 }]);
  });

  it('applies while the same store is chosen and the cart still wants more than it had', () => {
    const r = readRefusal(refusal)!;
    expect(refusalStillShort(r, 'a', wanted)).toEqual(refusal.short);
    // another store chosen: resolved
    expect(refusalStillShort(r, 'b', wanted)).toEqual([]);
    expect(refusalStillShort(r, null, wanted)).toEqual([]);
    // the cart changed: the line is gone, or asks for what the store has
    expect(refusalStillShort(r, 'a', new Map())).toEqual([]);
    const r2 = readRefusal({ ...refusal, short: [{ ...refusal.short[0], available: 2 }] })!;
    expect(refusalStillShort(r2, 'a', new Map([['CAM-0001', 2]]))).toEqual([]);
    // today's quantity is what is named
    expect(refusalStillShort(r2, 'a', new Map([['CAM-0001', 5]]))[0]).toMatchObject({
      wanted: 5,
      available: 2,
    });
    // the store restocked (live list): resolved
    expect(
      refusalStillShort(r, 'a', wanted, store('a', [{ sku: 'CAM-0001', available: 9 }])),
    ).toEqual([]);
  });

  it('suggests the nearest listed store that has everything, never the excluded one', () => {
    const list = [
      store('a', [{ sku: 'CAM-0001', available: 0 }]),
      store('b', [{ sku: 'CAM-0001', available: 2 }]),
      store('c', [{ sku: 'CAM-0001', available: 5 }]),
      store('d', [{ sku: 'CAM-0001', available: 50 }]),
    ];
    expect(nearestComplete(list, wanted, new Set(['a']))?.id).toBe('c');
    expect(nearestComplete(list, wanted, new Set(['c']))?.id).toBe('d');
    expect(nearestComplete(list.slice(0, 2), wanted, new Set())).toBeNull();
    expect(nearestComplete(list, new Map(), new Set())).toBeNull();
  });

  it("with the chosen store's region down, suggests the nearest full store outside that region", () => {
    const at = (id: string, region: string, available: number): Store => ({
      ...store(id, [{ sku: 'CAM-0001', available }]),
      region,
    });
    const list = [
      at('jkt-1', 'DKI Jakarta', 9),
      at('jkt-2', 'DKI Jakarta', 9),
      at('bdg-1', 'Jawa Barat', 1),
      at('bdg-2', 'Jawa Barat', 9),
      at('sby-1', 'Jawa Timur', 9),
    ];
    expect(nearestInAnotherRegion(list, wanted, 'jkt-1', 'dki-jakarta')?.id).toBe('bdg-2');
    // the region known only from the list, or only from settlement's slug
    expect(nearestInAnotherRegion(list, wanted, 'jkt-1', null)?.id).toBe('bdg-2');
    expect(nearestInAnotherRegion(list.slice(1), wanted, 'gone', 'jawa-barat')?.id).toBe('jkt-2');
    expect(nearestInAnotherRegion(list.slice(0, 2), wanted, 'jkt-1', 'dki-jakarta')).toBeNull();
  });
});

describe('a split checked before saving', () => {
  const inputs: SplitInputs = {
    currency: 'IDR',
    members: ['m_ani', 'm_budi'],
    lines: [{ id: 'l1', sku: 'teh', qty: 1, addedBy: 'm_ani' }],
    prices: { teh: { price: 19_500, currency: 'IDR' } },
    split: { mode: 'equal' },
  };

  it('names the member a +100.000 / −100.000 adjustment leaves below zero, and the amount', () => {
    const split = { mode: 'equal' as const, adjustments: { m_ani: 100_000, m_budi: -100_000 } };
    expect(checkSplit(inputs, split)).toMatchObject({
      code: 'negative_share',
      memberId: 'm_budi',
      amount: 9_750 - 100_000,
    });
    expect(summarise({ ...inputs, split }).error).toMatchObject({ memberId: 'm_budi' });
  });

  it('names a member who is not in the room', () => {
    expect(checkSplit(inputs, { mode: 'organiser', payer: 'm_gone' })).toMatchObject({
      code: 'unknown_member',
      memberId: 'm_gone',
    });
  });

  it('passes a split that computes', () => {
    expect(checkSplit(inputs, { mode: 'equal', adjustments: { m_ani: 5_000 } })).toBeNull();
    expect(checkSplit(inputs, { mode: 'half', partner: 'm_budi' })).toBeNull();
  });
});
