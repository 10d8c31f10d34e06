/**
 * The budget panel's numbers (issue 13 item 4): what each member pays after budgets, what the
 * warnings measure, and the organiser's form. Same calculator as settlement (model's split).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SPLIT_MODES, type CartLine } from '@patungan/model';
import { budgetLines, budgetsFromForm, warnLevel } from '../src/lib/room/budgets.ts';
import { summarise, type SplitInputs } from '../src/lib/room/split-panel.ts';

const prices = { kopi: { price: 19_500, currency: 'IDR' } };
const lines = (n: number, by = 'budi'): CartLine[] => [
  { id: 'a', sku: 'kopi', qty: n, addedBy: by },
];
const inputs = (extra: Partial<SplitInputs>): SplitInputs => ({
  currency: 'IDR',
  members: ['org', 'budi'],
  lines: lines(3),
  prices,
  split: { mode: 'equal' },
  ...extra,
});

describe('budgets in the room', () => {
  it('caps an over-budget member unless they pay their own overage, and says so', () => {
    const capped = budgetLines(summarise(inputs({ budgets: { budi: 20_000 } })).shares);
    expect(capped.find((l) => l.memberId === 'budi')).toMatchObject({
      share: 29_250,
      overage: 9_250,
      moved: -9_250,
      pays: 20_000,
      state: 'over',
    });
    expect(capped.find((l) => l.memberId === 'org')).toMatchObject({ moved: 9_250, pays: 38_500 });
    const own = budgetLines(
      summarise(inputs({ budgets: { budi: 20_000 }, paysOverage: ['budi'] })).shares,
    );
    expect(own.find((l) => l.memberId === 'budi')).toMatchObject({
      pays: 29_250,
      moved: 0,
      paysOverage: true,
    });
    expect(warnLevel(own.find((l) => l.memberId === 'budi'))).toBe(2);
    // The room's budget applies to everyone the organiser did not name.
    const room = summarise(inputs({ defaultBudget: 25_000, budgets: { budi: 40_000 } }));
    expect(room.shares.map((s) => s.budget)).toEqual([25_000, 40_000]);
  });

  it('reads the organiser’s form: empty is the room’s budget, nonsense names the member', () => {
    expect(budgetsFromForm({ org: '', budi: '20.000' }, ['org', 'budi'], 'IDR')).toEqual({
      ok: true,
      budgets: { budi: 20_000 },
    });
    expect(budgetsFromForm({ budi: 'banyak' }, ['org', 'budi'], 'IDR')).toEqual({
      ok: false,
      memberId: 'budi',
    });
    expect(budgetsFromForm({ budi: '0' }, ['org', 'budi'], 'IDR')).toMatchObject({ ok: false });
  });

  it('the shares the room shows add up to the total with any budgets and choices (property)', () => {
    const members = ['org', 'budi', 'sari'];
    fc.assert(
      fc.property(
        fc.constantFrom(...SPLIT_MODES.filter((m) => m !== 'half' && m !== 'shares')),
        fc.array(
          fc.record({ qty: fc.integer({ min: 1, max: 20 }), by: fc.constantFrom(...members) }),
          {
            maxLength: 6,
          },
        ),
        fc.dictionary(fc.constantFrom(...members), fc.integer({ min: 1, max: 200_000 })),
        fc.option(fc.integer({ min: 1, max: 200_000 }), { nil: null }),
        fc.subarray(members),
        (mode, raw, budgets, defaultBudget, paysOverage) => {
          const s = summarise({
            currency: 'IDR',
            members,
            lines: raw.map((l, i) => ({ id: `l${i}`, sku: 'kopi', qty: l.qty, addedBy: l.by })),
            prices,
            split: { mode },
            budgets,
            defaultBudget,
            paysOverage,
          });
          expect(s.error).toBeUndefined();
          expect(s.sum).toBe(s.total);
          expect(s.shares.reduce((a, r) => a + r.uncapped, 0)).toBe(s.total);
          for (const r of s.shares) expect(r.amount).toBeGreaterThanOrEqual(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});
