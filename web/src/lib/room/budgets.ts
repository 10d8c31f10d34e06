/**
 * The budget panel's logic (docs/contracts.md "Room document": `meta.budgets`, `meta.budget`,
 * `members[<id>].paysOverage`): what each member's row says, and the organiser's budget form.
 */
import { BUDGET_NEAR, parseAmount, type ShareRow } from './split-panel.ts';

export interface BudgetLine {
  memberId: string;
  /** Their share before budgets, against `budget`. */
  share: number;
  budget: number | null;
  state: ShareRow['budgetState'];
  /** Percent of the budget used (0 without a budget), for the meter. */
  percent: number;
  /** Share above the budget (0 when within it). */
  overage: number;
  paysOverage: boolean;
  /** What budgets moved: negative = carried by others, positive = carrying others'. */
  moved: number;
  /** What they pay. */
  pays: number;
}

export function budgetLines(shares: readonly ShareRow[]): BudgetLine[] {
  return shares.map((s) => ({
    memberId: s.memberId,
    share: s.uncapped,
    budget: s.budget,
    state: s.budgetState,
    percent: s.budget ? Math.round((s.uncapped / s.budget) * 100) : 0,
    overage: s.budget !== null ? Math.max(0, s.uncapped - s.budget) : 0,
    paysOverage: s.paysOverage,
    moved: s.amount - s.uncapped,
    pays: s.amount,
  }));
}

/** The level the live warning is at: none, from 80 % ("near"), above 100 % ("over"). */
export const warnLevel = (l: BudgetLine | undefined): 0 | 1 | 2 =>
  !l || l.budget === null ? 0 : l.state === 'over' ? 2 : l.state === 'near' ? 1 : 0;

export { BUDGET_NEAR };

/**
 * The organiser's budget form: one text per member, in major units as typed. An empty field
 * means "the room's budget" (or none). Returns the `meta.budgets` map or the first bad member.
 */
export function budgetsFromForm(
  form: Readonly<Record<string, string>>,
  members: readonly string[],
  currency: string,
): { ok: true; budgets: Record<string, number> } | { ok: false; memberId: string } {
  const budgets: Record<string, number> = {};
  for (const id of members) {
    const raw = (form[id] ?? '').trim();
    if (!raw) continue;
    const v = parseAmount(raw, currency);
    if (v === null || v <= 0) return { ok: false, memberId: id };
    budgets[id] = v;
  }
  return { ok: true, budgets };
}
