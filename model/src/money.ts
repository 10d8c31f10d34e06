/**
 * Money as integer minor units with an ISO 4217 currency.
 *
 * "Minor unit" is the unit Patungan counts in, which is not always ISO's: IDR is counted in
 * whole rupiah (exponent 0) because nobody pays in sen. A payment provider that counts in
 * another unit (Stripe counts IDR in hundredths) converts only at its own edge.
 */

export interface Money {
  /** Integer amount in the currency's minor unit (see {@link currencyExponent}). */
  readonly amount: number;
  /** ISO 4217 code, upper case. */
  readonly currency: string;
}

/** Exponent (digits after the decimal point) of each currency as Patungan counts it. */
export const CURRENCY_EXPONENTS: Readonly<Record<string, number>> = Object.freeze({
  IDR: 0,
  USD: 2,
  EUR: 2,
  SGD: 2,
  MYR: 2,
  AUD: 2,
  GBP: 2,
  JPY: 0,
  KRW: 0,
  VND: 0,
  THB: 2,
  PHP: 2,
  KWD: 3,
  BHD: 3,
});

export class MoneyError extends Error {
  constructor(
    readonly code: 'unknown_currency' | 'not_integer' | 'currency_mismatch' | 'negative',
    message: string,
  ) {
    super(message);
    this.name = 'MoneyError';
  }
}

export function isCurrency(code: unknown): code is string {
  return typeof code === 'string' && Object.hasOwn(CURRENCY_EXPONENTS, code);
}

export function currencyExponent(currency: string): number {
  const e = CURRENCY_EXPONENTS[currency];
  if (e === undefined) throw new MoneyError('unknown_currency', `unknown currency ${currency}`);
  return e;
}

/** Builds a Money, checking that the amount is a safe integer and the currency is known. */
export function money(amount: number, currency: string): Money {
  if (!Number.isSafeInteger(amount)) {
    throw new MoneyError('not_integer', `amount must be an integer in minor units, got ${amount}`);
  }
  currencyExponent(currency);
  return { amount, currency };
}

export function addMoney(a: Money, b: Money): Money {
  if (a.currency !== b.currency) {
    throw new MoneyError('currency_mismatch', `cannot add ${a.currency} and ${b.currency}`);
  }
  return money(a.amount + b.amount, a.currency);
}

export function sumMoney(items: readonly Money[], currency: string): Money {
  return items.reduce((acc, m) => addMoney(acc, m), money(0, currency));
}

export type MoneyLocale = 'id-ID' | 'en-US';

const formatters = new Map<string, Intl.NumberFormat>();

/**
 * Formats for people: `Rp 12.500` in id-ID, `$12.50` in en-US. Non-breaking spaces from
 * Intl are normalised to plain spaces so the text is the same everywhere it is shown.
 */
export function formatMoney(m: Money, locale: MoneyLocale = 'id-ID'): string {
  const exp = currencyExponent(m.currency);
  const key = `${locale}:${m.currency}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.NumberFormat(locale, {
      style: 'currency',
      currency: m.currency,
      currencyDisplay: 'symbol',
      minimumFractionDigits: exp,
      maximumFractionDigits: exp,
    });
    formatters.set(key, f);
  }
  return f.format(m.amount / 10 ** exp).replace(/[\u00a0\u202f]/g, ' ');
}

/** Converts to a provider's unit: `factor` minor units of theirs per one of ours. */
export function toProviderUnits(m: Money, providerExponent: number): number {
  const diff = providerExponent - currencyExponent(m.currency);
  if (diff < 0) throw new MoneyError('not_integer', 'provider unit coarser than ours');
  return m.amount * 10 ** diff;
}
