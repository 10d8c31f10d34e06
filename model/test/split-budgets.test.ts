/**
 * Budgets in the split (issue 13 item 4): a member over their budget pays their budget unless
 * they pay their own overage; the overage is carried by the others; the shares still add up to
 * the total exactly.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  SPLIT_MODES,
  addLine,
  budgetSplit,
  cartSnapshot,
  computeSplit,
  initRoom,
  joinMember,
  setPaysOverage,
  type SplitLine,
} from '../src/index.ts';

const byId = (shares: { memberId: string; amount: number }[]) =>
  Object.fromEntries(shares.map((s) => [s.memberId, s.amount]));
const members = ['org', 'budi', 'sari'];
const line = (addedBy: string, amount: number): SplitLine => ({
  id: `l-${addedBy}-${amount}`,
  addedBy,
  amount,
});

describe('budgets in the split', () => {
  it('moves an overage to the members without a budget, equally', () => {
    const s = computeSplit({
      members,
      lines: [line('budi', 70_000), line('org', 10_000), line('sari', 10_000)],
      split: { mode: 'items', budgets: { budi: 50_000 } },
    });
    expect(byId(s)).toEqual({ org: 20_000, budi: 50_000, sari: 20_000 });
  });

  it('keeps the overage with a member who pays it themselves', () => {
    const s = computeSplit({
      members,
      lines: [line('budi', 70_000), line('org', 10_000), line('sari', 10_000)],
      split: { mode: 'items', budgets: { budi: 50_000 }, paysOverage: ['budi'] },
    });
    expect(byId(s)).toEqual({ org: 10_000, budi: 70_000, sari: 10_000 });
  });

  it('with budgets for all, fills the others’ room left, never past their budget', () => {
    const s = computeSplit({
      members,
      lines: [line('budi', 70_000), line('org', 10_000), line('sari', 40_000)],
      // org has 40 000 room, sari 5 000: budi's 20 000 over → 17 778 / 2 222 by room left.
      split: { mode: 'items', budgets: { org: 50_000, budi: 50_000, sari: 45_000 } },
    });
    expect(byId(s)).toEqual({ org: 27_778, budi: 50_000, sari: 42_222 });
    // Not enough room: what does not fit stays with budi.
    const t = computeSplit({
      members,
      lines: [line('budi', 90_000), line('org', 45_000), line('sari', 45_000)],
      split: { mode: 'items', budgets: { org: 50_000, budi: 50_000, sari: 50_000 } },
    });
    expect(byId(t)).toEqual({ org: 50_000, budi: 80_000, sari: 50_000 });
  });

  it('always sums to the total, never negative, a capped member pays at most their budget when the others have room (property)', () => {
    const n = 4;
    const ids = ['m0', 'm1', 'm2', 'm3'];
    fc.assert(
      fc.property(
        fc.constantFrom(...SPLIT_MODES.filter((m) => m !== 'half')),
        fc.array(
          fc.record({
            amount: fc.integer({ min: 0, max: 2_000_000 }),
            by: fc.integer({ min: 0, max: n - 1 }),
          }),
          { maxLength: 12 },
        ),
        fc.array(fc.option(fc.integer({ min: 1, max: 1_000_000 }), { nil: undefined }), {
          minLength: n,
          maxLength: n,
        }),
        fc.array(fc.boolean(), { minLength: n, maxLength: n }),
        fc.array(fc.integer({ min: 0, max: 5 }), { minLength: n, maxLength: n }),
        (mode, raw, budgetList, pays, weights) => {
          const lines = raw.map((l, i) => ({ id: `l${i}`, amount: l.amount, addedBy: ids[l.by]! }));
          const total = lines.reduce((a, l) => a + l.amount, 0);
          const budgets = Object.fromEntries(
            ids.flatMap((id, i) => (budgetList[i] ? [[id, budgetList[i]]] : [])),
          );
          const paysOverage = ids.filter((_, i) => pays[i]);
          const split = {
            mode,
            shares: Object.fromEntries(
              ids.map((id, i) => [id, weights.some((w) => w > 0) ? weights[i]! : 1]),
            ),
          };
          const plain = byId(computeSplit({ members: ids, lines, split }));
          const withBudgets = byId(
            computeSplit({ members: ids, lines, split: { ...split, budgets, paysOverage } }),
          );
          expect(Object.values(withBudgets).reduce((a, b) => a + b, 0)).toBe(total);
          const room = ids.some((id) => budgets[id] === undefined);
          for (const id of ids) {
            expect(withBudgets[id]).toBeGreaterThanOrEqual(0);
            const b = budgets[id];
            // A member who pays their own overage pays at least what they would without budgets.
            if (b !== undefined && paysOverage.includes(id) && plain[id]! > b)
              expect(withBudgets[id]).toBe(plain[id]);
            // With someone without a budget to carry it, nobody else pays above their budget.
            if (b !== undefined && !paysOverage.includes(id) && room)
              expect(withBudgets[id]).toBeLessThanOrEqual(Math.max(b, 0));
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('budgets in the cart snapshot', () => {
  it('carries the room’s and per-member budgets and who pays their own overage', () => {
    const doc = new Y.Doc();
    initRoom(doc, {
      name: 'r',
      currency: 'IDR',
      organiser: 'org',
      organiserName: 'Org',
      budget: 100_000,
      budgets: { budi: 50_000 },
    });
    joinMember(doc, 'budi', 'Budi', 2);
    joinMember(doc, 'sari', 'Sari', 3);
    addLine(doc, { sku: 'kopi', qty: 1, addedBy: 'budi' });
    expect(cartSnapshot(doc, 'r').split).toEqual({
      mode: 'equal',
      budgets: { org: 100_000, budi: 50_000, sari: 100_000 },
    });
    const before = cartSnapshot(doc, 'r').cartVersion;
    setPaysOverage(doc, 'budi', true);
    expect(cartSnapshot(doc, 'r').split.paysOverage).toEqual(['budi']);
    expect(cartSnapshot(doc, 'r').cartVersion).not.toBe(before);
    setPaysOverage(doc, 'budi', false);
    expect(cartSnapshot(doc, 'r').cartVersion).toBe(before);
    expect(budgetSplit(['a'], undefined, null, () => true)).toEqual({});
  });
});
