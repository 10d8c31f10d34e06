import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SplitError, allocate, computeSplit, type SplitLine } from '../src/index.ts';

const lines = (...amounts: [string, number, string[]?][]): SplitLine[] =>
  amounts.map(([addedBy, amount, sharedWith], i) => ({
    id: `l${i}`,
    addedBy,
    amount,
    ...(sharedWith ? { sharedWith } : {}),
  }));

const byId = (shares: { memberId: string; amount: number }[]) =>
  Object.fromEntries(shares.map((s) => [s.memberId, s.amount]));

describe('allocate (largest remainder)', () => {
  it('gives leftover units by largest remainder, ties in member order', () => {
    expect(allocate(10, [1, 1, 1])).toEqual([4, 3, 3]);
    expect(allocate(11, [1, 1, 1])).toEqual([4, 4, 3]);
    // 100 × [1,2] / 3 = 33.33 / 66.67 → the larger remainder (second) gets the unit.
    expect(allocate(100, [1, 2])).toEqual([33, 67]);
    expect(allocate(0, [0, 0])).toEqual([0, 0]);
    expect(allocate(-10, [1, 1, 1])).toEqual([-4, -3, -3]);
  });

  it('never gives a unit to a zero weight', () => {
    expect(allocate(5, [0, 1, 0, 1])).toEqual([0, 3, 0, 2]);
  });

  it('refuses bad weights', () => {
    expect(() => allocate(10, [0, 0])).toThrow(SplitError);
    expect(() => allocate(10, [1.5])).toThrow(SplitError);
    expect(() => allocate(10, [-1, 2])).toThrow(SplitError);
  });
});

describe('computeSplit', () => {
  const members = ['org', 'budi', 'sari'];
  const cart = lines(['org', 10000], ['budi', 25000], ['sari', 5001, ['budi', 'sari']]);

  it('organiser mode: one pays all (default the organiser, or a chosen payer)', () => {
    expect(byId(computeSplit({ members, lines: cart, split: { mode: 'organiser' } }))).toEqual({
      org: 40001,
      budi: 0,
      sari: 0,
    });
    expect(
      byId(computeSplit({ members, lines: cart, split: { mode: 'organiser', payer: 'sari' } })),
    ).toEqual({ org: 0, budi: 0, sari: 40001 });
  });

  it('half mode: organiser and partner 50/50, odd unit to the organiser', () => {
    expect(
      byId(computeSplit({ members, lines: cart, split: { mode: 'half', partner: 'budi' } })),
    ).toEqual({ org: 20001, budi: 20000, sari: 0 });
    expect(() => computeSplit({ members, lines: cart, split: { mode: 'half' } })).toThrow(
      /partner/,
    );
  });

  it('equal mode', () => {
    expect(byId(computeSplit({ members, lines: cart, split: { mode: 'equal' } }))).toEqual({
      org: 13334,
      budi: 13334,
      sari: 13333,
    });
  });

  it('items mode: own lines, shared lines split among their members', () => {
    expect(byId(computeSplit({ members, lines: cart, split: { mode: 'items' } }))).toEqual({
      org: 10000,
      budi: 25000 + 2501,
      sari: 2500,
    });
  });

  it('shares mode: weights or percentages', () => {
    expect(
      byId(
        computeSplit({
          members,
          lines: cart,
          split: { mode: 'shares', shares: { org: 50, budi: 30, sari: 20 } },
        }),
      ),
    ).toEqual({ org: 20001, budi: 12000, sari: 8000 });
  });

  it('adjustments move money and keep the total exact', () => {
    const shares = computeSplit({
      members,
      lines: lines(['org', 30000]),
      split: { mode: 'equal', adjustments: { budi: 3000 } },
    });
    expect(byId(shares)).toEqual({ org: 8500, budi: 13000, sari: 8500 });
  });

  it('refuses adjustments that would make a share negative, and unknown members', () => {
    expect(() =>
      computeSplit({
        members,
        lines: lines(['org', 300]),
        split: { mode: 'equal', adjustments: { budi: -1000 } },
      }),
    ).toThrow(/negative/);
    expect(() =>
      computeSplit({ members, lines: cart, split: { mode: 'organiser', payer: 'nobody' } }),
    ).toThrow(/not a member/);
  });
});

// Property-based: random carts, currencies' typical magnitudes and member counts.
const memberIds = (n: number) => Array.from({ length: n }, (_, i) => `m${i}`);
const arbCase = fc.integer({ min: 1, max: 12 }).chain((n) =>
  fc.record({
    members: fc.constant(memberIds(n)),
    lines: fc.array(
      fc.record({
        amount: fc.oneof(
          fc.integer({ min: 0, max: 99 }), // USD cents-ish
          fc.integer({ min: 0, max: 50_000_000 }), // IDR rupiah
        ),
        addedBy: fc.integer({ min: 0, max: n - 1 }).map((i) => `m${i}`),
        sharedWith: fc.option(fc.subarray(memberIds(n), { minLength: 1 }), { nil: undefined }),
      }),
      { maxLength: 30 },
    ),
    mode: fc.constantFrom('organiser', 'half', 'equal', 'items', 'shares' as const),
    weights: fc.array(fc.integer({ min: 0, max: 100 }), { minLength: n, maxLength: n }),
    partner: fc.integer({ min: 0, max: n - 1 }).map((i) => `m${i}`),
  }),
);

describe('split invariants (fast-check)', () => {
  it('shares always sum exactly to the total and are never negative', () => {
    fc.assert(
      fc.property(arbCase, (c) => {
        const ls = c.lines.map((l, i) => ({ id: `l${i}`, ...l }));
        const weights = c.weights.some((w) => w > 0) ? c.weights : c.weights.map(() => 1);
        const shares = computeSplit({
          members: c.members,
          lines: ls,
          split: {
            mode: c.mode,
            partner: c.partner,
            shares: Object.fromEntries(c.members.map((m, i) => [m, weights[i]!])),
          },
        });
        const total = ls.reduce((a, l) => a + l.amount, 0);
        expect(shares.reduce((a, s) => a + s.amount, 0)).toBe(total);
        for (const s of shares) {
          expect(Number.isInteger(s.amount)).toBe(true);
          expect(s.amount).toBeGreaterThanOrEqual(0);
        }
        expect(shares.map((s) => s.memberId)).toEqual(c.members);
      }),
      { numRuns: 500 },
    );
  });

  it('items mode: no member pays for a line they are not on', () => {
    fc.assert(
      fc.property(arbCase, (c) => {
        const ls = c.lines.map((l, i) => ({ id: `l${i}`, ...l }));
        const shares = byId(
          computeSplit({ members: c.members, lines: ls, split: { mode: 'items' } }),
        );
        for (const m of c.members) {
          const onLines = ls.filter((l) => (l.sharedWith ?? [l.addedBy]).includes(m));
          // A member pays at most the sum of the lines they are on, and nothing if on none.
          expect(shares[m]).toBeLessThanOrEqual(onLines.reduce((a, l) => a + l.amount, 0));
          if (onLines.length === 0) expect(shares[m]).toBe(0);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('equal shares differ by at most one unit and ties go in member order', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.integer({ min: 1, max: 20 }),
        (total, n) => {
          const a = allocate(total, new Array(n).fill(1));
          expect(Math.max(...a) - Math.min(...a)).toBeLessThanOrEqual(1);
          // Non-increasing: earlier members get the leftover units.
          for (let i = 1; i < n; i++) expect(a[i]!).toBeLessThanOrEqual(a[i - 1]!);
        },
      ),
    );
  });

  it('adjustments keep the sum exact', () => {
    fc.assert(
      fc.property(arbCase, fc.integer({ min: -500, max: 5000 }), (c, adj) => {
        const ls = c.lines.map((l, i) => ({ id: `l${i}`, ...l }));
        const total = ls.reduce((a, l) => a + l.amount, 0);
        try {
          const shares = computeSplit({
            members: c.members,
            lines: ls,
            split: { mode: 'equal', adjustments: { [c.members[0]!]: adj } },
          });
          expect(shares.reduce((a, s) => a + s.amount, 0)).toBe(total);
        } catch (err) {
          // Refusals are allowed only for the documented reasons.
          expect(err).toBeInstanceOf(SplitError);
          expect(['negative_share', 'invalid_weights']).toContain((err as SplitError).code);
        }
      }),
      { numRuns: 300 },
    );
  });
});
