import { describe, expect, it } from 'vitest';
import {
  MoneyError,
  addMoney,
  currencyExponent,
  formatMoney,
  money,
  sumMoney,
  toProviderUnits,
} from '../src/index.ts';

describe('money', () => {
  it('counts IDR in whole rupiah and USD in cents', () => {
    expect(currencyExponent('IDR')).toBe(0);
    expect(currencyExponent('USD')).toBe(2);
    expect(() => currencyExponent('XXX')).toThrow(MoneyError);
  });

  it('refuses fractional amounts and unknown currencies', () => {
    expect(() => money(12.5, 'IDR')).toThrow(/integer/);
    expect(() => money(Number.MAX_SAFE_INTEGER + 2, 'IDR')).toThrow(/integer/);
    expect(() => money(100, 'ABC')).toThrow(/unknown currency/);
  });

  it('formats for id-ID and en-US', () => {
    expect(formatMoney(money(12500, 'IDR'), 'id-ID')).toBe('Rp 12.500');
    expect(formatMoney(money(1250, 'USD'), 'en-US')).toBe('$12.50');
    expect(formatMoney(money(1_234_567, 'IDR'), 'id-ID')).toBe('Rp 1.234.567');
    expect(formatMoney(money(5, 'USD'), 'en-US')).toBe('$0.05');
    expect(formatMoney(money(-1250, 'USD'), 'en-US')).toBe('-$12.50');
  });

  it('adds only the same currency', () => {
    expect(addMoney(money(1, 'IDR'), money(2, 'IDR'))).toEqual({ amount: 3, currency: 'IDR' });
    expect(() => addMoney(money(1, 'IDR'), money(2, 'USD'))).toThrow(/cannot add/);
    expect(sumMoney([money(1, 'USD'), money(2, 'USD')], 'USD').amount).toBe(3);
  });

  it('converts to a provider unit only by exact integer factors', () => {
    // Stripe counts IDR in hundredths.
    expect(toProviderUnits(money(12500, 'IDR'), 2)).toBe(1_250_000);
    expect(toProviderUnits(money(1250, 'USD'), 2)).toBe(1250);
    expect(() => toProviderUnits(money(1250, 'USD'), 0)).toThrow(MoneyError);
  });
});
