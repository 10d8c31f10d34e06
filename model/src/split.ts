/**
 * The split calculator: who pays how much of a cart. Pure and deterministic.
 *
 * Every mode reduces to "divide an integer amount by integer weights". That division uses the
 * largest-remainder method: each member first gets floor(amount × weight / Σweights); the
 * units left over go one each to the members with the largest remainders; equal remainders
 * go in member order (organiser first, then by join time — the order of `members` given to
 * {@link computeSplit}). No randomness, so every client computes the same shares, and the
 * shares always add up to the total exactly.
 */

export const SPLIT_MODES = ['organiser', 'half', 'equal', 'items', 'shares'] as const;
export type SplitMode = (typeof SPLIT_MODES)[number];

export interface SplitConfig {
  mode: SplitMode;
  /** `shares` mode: non-negative integer weights per member (percentages are weights summing to 100). */
  shares?: Record<string, number>;
  /** `organiser` mode: who pays everything (default: the organiser, i.e. members[0]). */
  payer?: string;
  /** `half` mode: the member who pays the other half with the organiser. */
  partner?: string;
  /**
   * Fixed amounts (minor units) a member pays more (positive) or less (negative). The opposite
   * of their sum is spread over the members without an adjustment, in proportion to what the
   * mode gave them, so the total stays exact.
   */
  adjustments?: Record<string, number>;
  /**
   * Budgets (minor units, > 0) per member: the most a member pays unless they pay their own
   * overage (`paysOverage`), and the most they carry of anyone else's. Applied last, after
   * the mode and the adjustments (see {@link applyBudgets}). Not written to `meta.split`:
   * `cartSnapshot` fills it from `meta.budgets` / `meta.budget` and the members' choices.
   */
  budgets?: Record<string, number>;
  /** Members over their budget who pay the part above it themselves (`members[<id>].paysOverage`). */
  paysOverage?: string[];
}

export interface SplitLine {
  id: string;
  /** Line total in minor units (unit price × quantity). */
  amount: number;
  addedBy: string;
  /** When set and non-empty, the line is split equally among these members instead. */
  sharedWith?: readonly string[];
}

export interface SplitInput {
  /** Member ids in order: organiser first, then by join time. Decides ties. */
  members: readonly string[];
  lines: readonly SplitLine[];
  split: SplitConfig;
}

export interface MemberShare {
  memberId: string;
  amount: number;
}

export class SplitError extends Error {
  constructor(
    readonly code:
      | 'no_members'
      | 'unknown_member'
      | 'invalid_amount'
      | 'invalid_weights'
      | 'missing_partner'
      | 'negative_share',
    message: string,
    /**
     * The member the error is about (`unknown_member`, `negative_share`) and, for
     * `negative_share`, the share it would have been: so a person can be told by name.
     */
    readonly detail: { memberId?: string; amount?: number } = {},
  ) {
    super(message);
    this.name = 'SplitError';
  }
}

/**
 * Divides `amount` by `weights` (parallel to `order`) with largest remainder; ties in order.
 * Works in BigInt so that amount × weight never loses precision.
 */
export function allocate(amount: number, weights: readonly number[]): number[] {
  if (!Number.isSafeInteger(amount)) throw new SplitError('invalid_amount', `bad amount ${amount}`);
  for (const w of weights) {
    if (!Number.isSafeInteger(w) || w < 0) {
      throw new SplitError('invalid_weights', `weights must be non-negative integers, got ${w}`);
    }
  }
  const total = weights.reduce((a, b) => a + b, 0);
  if (total === 0) {
    if (amount === 0) return weights.map(() => 0);
    throw new SplitError('invalid_weights', 'at least one weight must be positive');
  }
  const sign = amount < 0 ? -1n : 1n;
  const abs = BigInt(Math.abs(amount));
  const W = BigInt(total);
  const base: bigint[] = [];
  const rems: bigint[] = [];
  let given = 0n;
  for (const w of weights) {
    const p = abs * BigInt(w);
    base.push(p / W);
    rems.push(p % W);
    given += p / W;
  }
  let left = abs - given;
  // Stable sort by remainder descending keeps member order among equal remainders.
  const byRemainder = weights
    .map((_, i) => i)
    .filter((i) => weights[i]! > 0)
    .sort((a, b) => (rems[b]! > rems[a]! ? 1 : rems[b]! < rems[a]! ? -1 : a - b));
  for (const i of byRemainder) {
    if (left === 0n) break;
    base[i] = base[i]! + 1n;
    left -= 1n;
  }
  return base.map((b) => Number(b * sign));
}

function indexOf(members: readonly string[], id: string): number {
  const i = members.indexOf(id);
  if (i < 0) {
    throw new SplitError('unknown_member', `${id} is not a member of this room`, { memberId: id });
  }
  return i;
}

/** Computes each member's share of the cart. Shares sum exactly to the lines' total. */
export function computeSplit(input: SplitInput): MemberShare[] {
  const { members, lines, split } = input;
  if (members.length === 0) throw new SplitError('no_members', 'a split needs at least one member');
  if (new Set(members).size !== members.length) {
    throw new SplitError('unknown_member', 'members must be unique');
  }
  let total = 0;
  for (const l of lines) {
    if (!Number.isSafeInteger(l.amount) || l.amount < 0) {
      throw new SplitError('invalid_amount', `line ${l.id} has a bad amount ${l.amount}`);
    }
    total += l.amount;
  }
  const amounts = baseShares(members, lines, split, total);
  applyAdjustments(members, amounts, split.adjustments);
  applyBudgets(members, amounts, split.budgets, split.paysOverage);
  return members.map((memberId, i) => ({ memberId, amount: amounts[i]! }));
}

/**
 * Budgets: each member over their budget who has not chosen to pay their own overage pays
 * their budget; the part above it (the overage) is carried by the others:
 *
 * - by the members without a budget, equally, when there are any;
 * - otherwise by the members under their budget, in proportion to the room they have left and
 *   never past their own budget; what does not fit stays with the members it came from, in
 *   proportion to their overage.
 *
 * Only moves amounts between members (through {@link allocate}), so the shares still add up to
 * the total exactly; nobody's share goes below zero. A member who pays their own overage keeps
 * it and carries nobody else's beyond their budget.
 */
export function applyBudgets(
  members: readonly string[],
  amounts: number[],
  budgets: Record<string, number> | undefined,
  paysOverage: readonly string[] | undefined,
): void {
  if (!budgets) return;
  const own = new Set(paysOverage ?? []);
  const budget = members.map((id) => {
    const b = budgets[id];
    if (b === undefined) return null;
    if (!Number.isSafeInteger(b) || b <= 0)
      throw new SplitError('invalid_amount', `bad budget ${b}`);
    return b;
  });
  const over = members.map((id, i) => {
    const b = budget[i];
    return b === null || b === undefined || own.has(id) ? 0 : Math.max(0, amounts[i]! - b);
  });
  const excess = over.reduce((a, b) => a + b, 0);
  if (excess === 0) return;
  over.forEach((o, i) => (amounts[i]! -= o));
  const free = members.map((_, i) => (over[i] === 0 && budget[i] === null ? 1 : 0));
  if (free.some((w) => w > 0)) {
    allocate(excess, free).forEach((a, i) => (amounts[i]! += a));
    return;
  }
  const room = members.map((_, i) =>
    over[i] === 0 ? Math.max(0, (budget[i] ?? 0) - amounts[i]!) : 0,
  );
  const fits = Math.min(
    excess,
    room.reduce((a, b) => a + b, 0),
  );
  if (fits > 0) allocate(fits, room).forEach((a, i) => (amounts[i]! += a));
  if (excess > fits) allocate(excess - fits, over).forEach((a, i) => (amounts[i]! += a));
}

function baseShares(
  members: readonly string[],
  lines: readonly SplitLine[],
  split: SplitConfig,
  total: number,
): number[] {
  const n = members.length;
  const weights = new Array<number>(n).fill(0);
  switch (split.mode) {
    case 'organiser':
      weights[split.payer ? indexOf(members, split.payer) : 0] = 1;
      return allocate(total, weights);
    case 'half': {
      if (!split.partner) throw new SplitError('missing_partner', 'half mode needs a partner');
      const p = indexOf(members, split.partner);
      weights[0] = 1;
      weights[p] = (weights[p] ?? 0) + 1;
      return allocate(total, weights);
    }
    case 'equal':
      return allocate(total, weights.fill(1));
    case 'shares': {
      const shares = split.shares ?? {};
      for (const [id, w] of Object.entries(shares)) weights[indexOf(members, id)] = w;
      return allocate(total, weights);
    }
    case 'items': {
      const out = new Array<number>(n).fill(0);
      for (const line of lines) {
        const on = line.sharedWith && line.sharedWith.length > 0 ? line.sharedWith : [line.addedBy];
        const w = new Array<number>(n).fill(0);
        for (const id of on) w[indexOf(members, id)] = 1;
        allocate(line.amount, w).forEach((a, i) => (out[i]! += a));
      }
      return out;
    }
    default: {
      const mode: never = split.mode;
      throw new SplitError('invalid_weights', `unknown split mode ${String(mode)}`);
    }
  }
}

function applyAdjustments(
  members: readonly string[],
  amounts: number[],
  adjustments: Record<string, number> | undefined,
): void {
  if (!adjustments) return;
  let sum = 0;
  const adjusted = new Set<number>();
  for (const [id, a] of Object.entries(adjustments)) {
    if (!Number.isSafeInteger(a)) throw new SplitError('invalid_amount', `bad adjustment ${a}`);
    if (a === 0) continue;
    const i = indexOf(members, id);
    amounts[i]! += a;
    adjusted.add(i);
    sum += a;
  }
  if (sum !== 0) {
    const others = members.map((_, i) => (adjusted.has(i) ? 0 : Math.max(0, amounts[i]!)));
    // Nobody else pays anything yet: spread over the unadjusted members equally.
    const weights = others.some((w) => w > 0)
      ? others
      : members.map((_, i) => (adjusted.has(i) ? 0 : 1));
    if (!weights.some((w) => w > 0)) {
      throw new SplitError('invalid_weights', 'adjustments must leave someone to balance them');
    }
    allocate(-sum, weights).forEach((a, i) => (amounts[i]! += a));
  }
  const neg = amounts.findIndex((a) => a < 0);
  if (neg >= 0) {
    throw new SplitError(
      'negative_share',
      `adjustments leave ${members[neg]} with a negative share`,
      { memberId: members[neg]!, amount: amounts[neg]! },
    );
  }
}
