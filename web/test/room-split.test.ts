import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SPLIT_MODES, type CartLine, type SplitConfig } from '@patungan/model';
import {
  budgetState,
  formFromSplit,
  parseAmount,
  previewAdd,
  splitFromForm,
  summarise,
  type SplitInputs,
} from '../src/lib/room/split-panel.ts';

const members = ['org', 'budi', 'sari'];
const prices = {
  indomie: { price: 3500, currency: 'IDR' },
  teh: { price: 5000, currency: 'IDR' },
  kopi: { price: 12_001, currency: 'IDR' },
};
const line = (
  id: string,
  sku: string,
  qty: number,
  addedBy: string,
  sharedWith?: string[],
): CartLine => ({
  id,
  sku,
  qty,
  addedBy,
  ...(sharedWith ? { sharedWith } : {}),
});

function inputs(
  split: SplitConfig,
  lines: CartLine[],
  extra: Partial<SplitInputs> = {},
): SplitInputs {
  return { currency: 'IDR', members, lines, prices, split, ...extra };
}

describe('split panel summary', () => {
  it('splits equally with the leftover rupiah going in member order', () => {
    const s = summarise(inputs({ mode: 'equal' }, [line('a', 'kopi', 1, 'budi')]));
    expect(s.total).toBe(12_001);
    expect(s.sum).toBe(12_001);
    expect(s.shares.map((r) => r.amount)).toEqual([4001, 4000, 4000]);
    expect(s.error).toBeUndefined();
  });

  it('charges each member their own items and splits shared lines among the chosen members', () => {
    const s = summarise(
      inputs({ mode: 'items' }, [
        line('a', 'indomie', 2, 'budi'),
        line('b', 'teh', 1, 'sari', ['org', 'sari']),
      ]),
    );
    expect(Object.fromEntries(s.shares.map((r) => [r.memberId, r.amount]))).toEqual({
      org: 2500,
      budi: 7000,
      sari: 2500,
    });
  });

  it('leaves unknown prices out of the total and says which', () => {
    const s = summarise(
      inputs({ mode: 'equal' }, [line('a', 'teh', 1, 'org'), line('b', 'mystery', 3, 'org')]),
    );
    expect(s.total).toBe(5000);
    expect(s.unpriced).toEqual(['mystery']);
  });

  it('reports a split that cannot be computed instead of throwing', () => {
    const s = summarise(inputs({ mode: 'half' }, [line('a', 'teh', 1, 'org')]));
    expect(s.error?.code).toBe('missing_partner');
    expect(s.shares).toEqual([]);
  });

  it('pays a departed member’s line by the organiser and drops them from shared lines', () => {
    const s = summarise(inputs({ mode: 'items' }, [line('a', 'teh', 2, 'gone', ['gone', 'budi'])]));
    expect(s.error).toBeUndefined();
    expect(s.shares.find((r) => r.memberId === 'budi')?.amount).toBe(10_000);
  });

  it('grades budgets: near from 80 %, over above 100 %', () => {
    expect(budgetState(79, 100)).toBe('ok');
    expect(budgetState(80, 100)).toBe('near');
    expect(budgetState(100, 100)).toBe('near');
    expect(budgetState(101, 100)).toBe('over');
    expect(budgetState(500, null)).toBe('none');
    const s = summarise(
      inputs({ mode: 'items' }, [line('a', 'teh', 2, 'budi')], { defaultBudget: 9000 }),
    );
    expect(s.shares.find((r) => r.memberId === 'budi')?.budgetState).toBe('over');
    expect(s.shares.find((r) => r.memberId === 'org')?.budgetState).toBe('ok');
  });

  it('warns before an add pushes someone near or over their budget', () => {
    const base = inputs({ mode: 'equal' }, [line('a', 'teh', 3, 'budi')], { defaultBudget: 7000 });
    // 15 000 / 3 = 5 000 each (71 %); adding one more teh → 6 667 (95 %): everyone near.
    const w = previewAdd(base, { sku: 'teh', qty: 1, addedBy: 'budi' });
    expect(w.map((x) => [x.memberId, x.state])).toEqual([
      ['org', 'near'],
      ['budi', 'near'],
      ['sari', 'near'],
    ]);
    // Adding a cheap item that keeps everyone under 80 % warns nobody.
    const low = inputs({ mode: 'equal' }, [], { defaultBudget: 100_000 });
    expect(previewAdd(low, { sku: 'indomie', qty: 1, addedBy: 'budi' })).toEqual([]);
    // Only the member whose own items they are, in items mode.
    const items = inputs({ mode: 'items' }, [line('a', 'teh', 1, 'sari')], {
      budgets: { sari: 9000 },
    });
    expect(previewAdd(items, { sku: 'teh', qty: 1, addedBy: 'sari' })).toEqual([
      { memberId: 'sari', before: 5000, after: 10_000, budget: 9000, state: 'over' },
    ]);
  });

  it('always sums to the total, every mode, any cart (property)', () => {
    const skus = Object.keys(prices);
    fc.assert(
      fc.property(
        fc.constantFrom(...SPLIT_MODES),
        fc.array(
          fc.record({
            sku: fc.constantFrom(...skus),
            qty: fc.integer({ min: 1, max: 50 }),
            by: fc.constantFrom(...members),
            shared: fc.subarray(members),
          }),
          { maxLength: 12 },
        ),
        fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 3, maxLength: 3 }),
        (mode, raw, weights) => {
          const split: SplitConfig = { mode };
          if (mode === 'half') split.partner = 'sari';
          if (mode === 'shares')
            split.shares = { org: weights[0]! + 1, budi: weights[1]!, sari: weights[2]! };
          const lines = raw.map((r, i) =>
            line(`l${i}`, r.sku, r.qty, r.by, r.shared.length ? r.shared : undefined),
          );
          const s = summarise(inputs(split, lines));
          expect(s.error).toBeUndefined();
          expect(s.sum).toBe(s.total);
          expect(s.shares.every((r) => Number.isInteger(r.amount) && r.amount >= 0)).toBe(true);
        },
      ),
    );
  });
});

describe('split form', () => {
  it('parses amounts in the currency’s own decimals', () => {
    expect(parseAmount('12500', 'IDR')).toBe(12_500);
    expect(parseAmount('12.500', 'IDR')).toBe(12_500);
    expect(parseAmount('-2.50', 'USD')).toBe(-250);
    expect(parseAmount('2,5', 'USD')).toBe(250);
    expect(parseAmount('', 'USD')).toBe(0);
    expect(parseAmount('1.234', 'USD')).toBeNull();
    expect(parseAmount('abc', 'IDR')).toBeNull();
  });

  it('builds meta.split for each mode and refuses what cannot work', () => {
    const form = formFromSplit({ mode: 'equal' }, members, 'IDR');
    expect(splitFromForm(form, members, 'IDR')).toEqual({ ok: true, split: { mode: 'equal' } });
    expect(splitFromForm({ ...form, mode: 'half', partner: 'org' }, members, 'IDR')).toEqual({
      ok: false,
      error: { code: 'partner_required' },
    });
    expect(splitFromForm({ ...form, mode: 'half', partner: 'sari' }, members, 'IDR')).toEqual({
      ok: true,
      split: { mode: 'half', partner: 'sari' },
    });
    expect(splitFromForm({ ...form, mode: 'organiser', payer: 'budi' }, members, 'IDR')).toEqual({
      ok: true,
      split: { mode: 'organiser', payer: 'budi' },
    });
    const shares = {
      ...form,
      mode: 'shares' as const,
      shares: { org: '50', budi: '30', sari: '20' },
    };
    expect(splitFromForm(shares, members, 'IDR')).toEqual({
      ok: true,
      split: { mode: 'shares', shares: { org: 50, budi: 30, sari: 20 } },
    });
    expect(
      splitFromForm({ ...shares, shares: { org: '0', budi: '0', sari: '0' } }, members, 'IDR'),
    ).toEqual({
      ok: false,
      error: { code: 'no_weight' },
    });
    expect(
      splitFromForm({ ...shares, shares: { org: '1.5', budi: '0', sari: '0' } }, members, 'IDR'),
    ).toEqual({
      ok: false,
      error: { code: 'bad_weight', memberId: 'org' },
    });
  });

  it('round-trips adjustments and keeps the total exact with them', () => {
    const split: SplitConfig = { mode: 'equal', adjustments: { budi: 250 } };
    const form = formFromSplit(split, members, 'USD');
    expect(form.adjustments.budi).toBe('2.50');
    const back = splitFromForm(form, members, 'USD');
    expect(back).toEqual({ ok: true, split });
    const s = summarise({
      currency: 'USD',
      members,
      lines: [line('a', 'x', 1, 'org')],
      prices: { x: { price: 1000, currency: 'USD' } },
      split,
    });
    // Equal gives 334 / 333 / 333; Budi pays $2.50 more, taken off the others in proportion.
    expect(s.shares.map((r) => r.amount)).toEqual([209, 583, 208]);
    expect(s.sum).toBe(1000);
    expect(splitFromForm({ ...form, adjustments: { budi: 'lots' } }, members, 'USD')).toEqual({
      ok: false,
      error: { code: 'bad_adjustment', memberId: 'budi' },
    });
  });
});
