/**
 * The split panel's logic, apart from the component so it can be unit-tested: prices the cart,
 * runs model's `computeSplit` (never a copy of it), checks the shares add up, grades every
 * member against their budget, and turns the organiser's form into a `meta.split` value.
 */
import {
  SplitError,
  budgetSplit,
  computeSplit,
  currencyExponent,
  type CartLine,
  type SplitConfig,
  type SplitLine,
  type SplitMode,
} from '@patungan/model';

export interface PriceInfo {
  price: number;
  currency: string;
}

export type BudgetState = 'none' | 'ok' | 'near' | 'over';

/** A member is warned from this fraction of their budget on. */
export const BUDGET_NEAR = 0.8;

export function budgetState(amount: number, budget: number | null | undefined): BudgetState {
  if (budget === null || budget === undefined || !(budget > 0)) return 'none';
  if (amount > budget) return 'over';
  if (amount >= budget * BUDGET_NEAR) return 'near';
  return 'ok';
}

export interface ShareRow {
  memberId: string;
  /** What the member pays: after budgets moved overages (model's `applyBudgets`). */
  amount: number;
  /** Their share before budgets: what the budget warnings measure. */
  uncapped: number;
  budget: number | null;
  budgetState: BudgetState;
  /** They pay the part above their budget themselves (`members[<id>].paysOverage`). */
  paysOverage: boolean;
}

export interface SplitSummary {
  currency: string;
  /** Sum of the priced lines. */
  total: number;
  /** Sum of the shares: equal to `total` whenever `error` is absent. */
  sum: number;
  shares: ShareRow[];
  /** Skus in the cart whose price is not known (yet): the total leaves them out. */
  unpriced: string[];
  /** Skus priced in another currency than the room's: left out as well. */
  wrongCurrency: string[];
  /** Why no split could be computed (e.g. half mode without a partner). */
  error?: SplitProblem;
}

/**
 * Why a split cannot be computed: model's code, the member it is about (shown by name, never
 * by id) and, for a negative share, what that share would have been. `message` is model's
 * English, for logs only.
 */
export interface SplitProblem {
  code: SplitError['code'] | 'mismatch';
  message: string;
  memberId?: string;
  amount?: number;
}

export interface SplitInputs {
  currency: string;
  /** Member ids in split order (model's `memberOrder`). */
  members: readonly string[];
  lines: readonly CartLine[];
  prices: Readonly<Record<string, PriceInfo | undefined>>;
  split: SplitConfig;
  /** Explicit per-member budgets (`meta.budgets`). */
  budgets?: Readonly<Record<string, number>> | undefined;
  /** Everyone's budget when `budgets` names no one (the room's per-member budget). */
  defaultBudget?: number | null | undefined;
  /** Members who pay their own overage. */
  paysOverage?: readonly string[] | undefined;
}

export function budgetOf(
  inputs: Pick<SplitInputs, 'budgets' | 'defaultBudget'>,
  id: string,
): number | null {
  return inputs.budgets?.[id] ?? inputs.defaultBudget ?? null;
}

/** Lines priced from the catalog; members who are not (or no longer) in the room are dropped from `sharedWith`. */
export function priceLines(inputs: SplitInputs): {
  lines: SplitLine[];
  unpriced: string[];
  wrongCurrency: string[];
} {
  const known = new Set(inputs.members);
  const lines: SplitLine[] = [];
  const unpriced = new Set<string>();
  const wrongCurrency = new Set<string>();
  for (const l of inputs.lines) {
    const p = inputs.prices[l.sku];
    if (!p) {
      unpriced.add(l.sku);
      continue;
    }
    if (p.currency !== inputs.currency) {
      wrongCurrency.add(l.sku);
      continue;
    }
    const sharedWith = l.sharedWith?.filter((m) => known.has(m));
    lines.push({
      id: l.id,
      amount: p.price * l.qty,
      // A line added by someone who left is paid by the organiser, as settlement would.
      addedBy: known.has(l.addedBy) ? l.addedBy : (inputs.members[0] ?? l.addedBy),
      ...(sharedWith && sharedWith.length ? { sharedWith } : {}),
    });
  }
  return { lines, unpriced: [...unpriced], wrongCurrency: [...wrongCurrency] };
}

/** Everything the split panel shows. Never throws: a split that cannot be computed is an `error`. */
export function summarise(inputs: SplitInputs): SplitSummary {
  const { lines, unpriced, wrongCurrency } = priceLines(inputs);
  const total = lines.reduce((a, l) => a + l.amount, 0);
  const base = { currency: inputs.currency, total, unpriced, wrongCurrency };
  if (inputs.members.length === 0) {
    return {
      ...base,
      sum: 0,
      shares: [],
      error: { code: 'no_members', message: 'no members yet' },
    };
  }
  try {
    const own = new Set(inputs.paysOverage ?? []);
    // The same budgets settlement gets in the cart snapshot (model's `budgetSplit`).
    const budgets = budgetSplit(inputs.members, inputs.budgets, inputs.defaultBudget, (id) =>
      own.has(id),
    );
    const uncapped = computeSplit({ members: inputs.members, lines, split: inputs.split });
    const shares = budgets.budgets
      ? computeSplit({ members: inputs.members, lines, split: { ...inputs.split, ...budgets } })
      : uncapped;
    const sum = shares.reduce((a, s) => a + s.amount, 0);
    const rows = shares.map((s, i) => {
      const budget = budgetOf(inputs, s.memberId);
      const before = uncapped[i]!.amount;
      return {
        ...s,
        uncapped: before,
        budget,
        budgetState: budgetState(before, budget),
        paysOverage: own.has(s.memberId),
      };
    });
    if (sum !== total) {
      // computeSplit guarantees this; shown rather than hidden if it ever breaks.
      return {
        ...base,
        sum,
        shares: rows,
        error: { code: 'mismatch', message: `shares add up to ${sum}, not ${total}` },
      };
    }
    return { ...base, sum, shares: rows };
  } catch (err) {
    if (err instanceof SplitError) {
      return {
        ...base,
        sum: 0,
        shares: [],
        error: { code: err.code, message: err.message, ...err.detail },
      };
    }
    throw err;
  }
}

export interface BudgetWarning {
  memberId: string;
  before: number;
  after: number;
  budget: number;
  state: 'near' | 'over';
}

/**
 * What adding `qty × sku` would do to everyone's budget, before it is added: the members who
 * would newly reach "near" or "over" (or go further over). The add button shows these.
 */
export function previewAdd(
  inputs: SplitInputs,
  add: { sku: string; qty: number; addedBy: string },
): BudgetWarning[] {
  return budgetChanges(inputs, {
    ...inputs,
    lines: [
      ...inputs.lines,
      { id: '\uffff-preview', sku: add.sku, qty: add.qty, addedBy: add.addedBy },
    ],
  });
}

/** What setting one line's quantity to `qty` would do to everyone's budget (the quantity box). */
export function previewQty(inputs: SplitInputs, lineId: string, qty: number): BudgetWarning[] {
  return budgetChanges(inputs, {
    ...inputs,
    lines: inputs.lines.map((l) => (l.id === lineId ? { ...l, qty } : l)),
  });
}

/** Members who newly reach "near" or "over" (or go further over) from `from` to `to`. */
function budgetChanges(from: SplitInputs, to: SplitInputs): BudgetWarning[] {
  const before = summarise(from);
  const after = summarise(to);
  if (after.error) return [];
  const prev = new Map(before.shares.map((s) => [s.memberId, s]));
  const out: BudgetWarning[] = [];
  for (const s of after.shares) {
    if (s.budget === null || (s.budgetState !== 'near' && s.budgetState !== 'over')) continue;
    const p = prev.get(s.memberId);
    const was = p?.budgetState ?? 'ok';
    const worse =
      was !== s.budgetState || (s.budgetState === 'over' && s.uncapped > (p?.uncapped ?? 0));
    if (worse) {
      out.push({
        memberId: s.memberId,
        before: p?.uncapped ?? 0,
        after: s.uncapped,
        budget: s.budget,
        state: s.budgetState,
      });
    }
  }
  return out;
}

/**
 * Parses an amount typed by a person in major units ("12.500" in IDR is ambiguous, so only the
 * currency's own decimal places are accepted: "12500", "12.50" for USD, "-2,5" → -250 USD).
 * Returns minor units, or null when the text is not an amount.
 */
export function parseAmount(text: string, currency: string): number | null {
  const exp = currencyExponent(currency);
  const t = text.trim().replace(/\s/g, '');
  if (!t) return 0;
  const m = /^([+-]?)(\d{1,13})(?:[.,](\d+))?$/.exec(t);
  if (!m) return null;
  const frac = m[3] ?? '';
  if (frac.length > exp) {
    // "12.500" for IDR: thousands grouping, not decimals.
    if (exp === 0 && frac.length === 3) {
      return parseAmount(`${m[1]}${m[2]}${frac}`, currency);
    }
    return null;
  }
  const minor = Number(m[2]) * 10 ** exp + Number(frac.padEnd(exp, '0') || '0');
  if (!Number.isSafeInteger(minor)) return null;
  return m[1] === '-' ? -minor : minor;
}

/** The organiser's split form, as typed. */
export interface SplitForm {
  mode: SplitMode;
  payer: string;
  partner: string;
  /** Weight per member as typed (integers, e.g. percentages). */
  shares: Record<string, string>;
  /** Adjustment per member in major units as typed ("+5000", "-2.50"). */
  adjustments: Record<string, string>;
}

export type FormError =
  | { code: 'partner_required' }
  | { code: 'bad_weight'; memberId: string }
  | { code: 'no_weight' }
  | { code: 'bad_adjustment'; memberId: string }
  /** The form parses, but the split it makes cannot be computed for this cart. */
  | { code: 'split'; problem: SplitProblem };

/**
 * Whether `split` computes for the room as it is now (its members, its priced cart), with
 * model's own calculator: the problem, or null. Run before saving a split, so a split that
 * leaves someone owing less than nothing is never written to the room.
 */
export function checkSplit(inputs: SplitInputs, split: SplitConfig): SplitProblem | null {
  if (inputs.members.length === 0) return null;
  return summarise({ ...inputs, split }).error ?? null;
}

export function formFromSplit(
  split: SplitConfig,
  members: readonly string[],
  currency: string,
): SplitForm {
  const exp = currencyExponent(currency);
  const shares: Record<string, string> = {};
  const adjustments: Record<string, string> = {};
  for (const id of members) {
    shares[id] = String(split.shares?.[id] ?? 1);
    const a = split.adjustments?.[id];
    adjustments[id] = a ? (a / 10 ** exp).toFixed(exp) : '';
  }
  return {
    mode: split.mode,
    payer: split.payer ?? members[0] ?? '',
    partner: split.partner ?? members[1] ?? '',
    shares,
    adjustments,
  };
}

/** Builds `meta.split` from the form, or says what is wrong with it. */
export function splitFromForm(
  form: SplitForm,
  members: readonly string[],
  currency: string,
): { ok: true; split: SplitConfig } | { ok: false; error: FormError } {
  const split: SplitConfig = { mode: form.mode };
  if (
    form.mode === 'organiser' &&
    form.payer &&
    form.payer !== members[0] &&
    members.includes(form.payer)
  ) {
    split.payer = form.payer;
  }
  if (form.mode === 'half') {
    if (!form.partner || !members.includes(form.partner) || form.partner === members[0]) {
      return { ok: false, error: { code: 'partner_required' } };
    }
    split.partner = form.partner;
  }
  if (form.mode === 'shares') {
    const shares: Record<string, number> = {};
    let any = false;
    for (const id of members) {
      const raw = (form.shares[id] ?? '0').trim() || '0';
      if (!/^\d{1,6}$/.test(raw)) return { ok: false, error: { code: 'bad_weight', memberId: id } };
      shares[id] = Number(raw);
      if (shares[id]! > 0) any = true;
    }
    if (!any) return { ok: false, error: { code: 'no_weight' } };
    split.shares = shares;
  }
  const adjustments: Record<string, number> = {};
  for (const id of members) {
    const a = parseAmount(form.adjustments[id] ?? '', currency);
    if (a === null) return { ok: false, error: { code: 'bad_adjustment', memberId: id } };
    if (a !== 0) adjustments[id] = a;
  }
  if (Object.keys(adjustments).length) split.adjustments = adjustments;
  return { ok: true, split };
}
