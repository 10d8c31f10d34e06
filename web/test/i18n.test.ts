import { describe, expect, it } from 'vitest';
import { messages as idShell } from '../src/lib/i18n/id.ts';
import { messages as enShell } from '../src/lib/i18n/en.ts';
import idRoom from '../src/lib/i18n/room.id.ts';
import enRoom from '../src/lib/i18n/room.en.ts';
import { catalogues, formatMoneyIn, translate } from '../src/lib/i18n/translate.ts';

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('i18n catalogues', () => {
  it('shell catalogues have the same keys in both languages, none empty', () => {
    expect(Object.keys(enShell).sort()).toEqual(Object.keys(idShell).sort());
    for (const [k, v] of [...Object.entries(idShell), ...Object.entries(enShell)]) {
      expect(v.trim(), k).not.toBe('');
    }
  });

  it('room catalogues have the same keys in both languages', () => {
    expect(Object.keys(enRoom).sort()).toEqual(Object.keys(idRoom).sort());
  });

  it('merged catalogues: no missing key in either language and no clash between shell and room', () => {
    expect(Object.keys(catalogues.en).sort()).toEqual(Object.keys(catalogues.id).sort());
    const clash = Object.keys(idShell).filter((k) => Object.hasOwn(idRoom, k));
    expect(clash).toEqual([]);
  });

  it('every message uses the same placeholders in both languages', () => {
    for (const k of Object.keys(catalogues.id)) {
      expect(placeholders(catalogues.en[k]!), k).toEqual(placeholders(catalogues.id[k]!));
    }
  });

  it('translates with parameters, Indonesian by default', () => {
    expect(translate('id', 'home.welcome', { name: 'Budi' })).toBe('Halo, Budi!');
    expect(translate('en', 'home.welcome', { name: 'Budi' })).toBe('Hi, Budi!');
    expect(translate('en', 'error.rate_limited', { seconds: 30 })).toContain('30 seconds');
    // An unknown parameter stays visible rather than vanishing.
    expect(translate('en', 'home.welcome')).toBe('Hi, {name}!');
  });
});

describe('money formatting', () => {
  it('formats IDR in whole rupiah and USD in cents, per locale', () => {
    expect(formatMoneyIn('id', { amount: 12500, currency: 'IDR' })).toBe('Rp 12.500');
    expect(formatMoneyIn('en', { amount: 1250, currency: 'USD' })).toBe('$12.50');
    expect(formatMoneyIn('id', { amount: 1250, currency: 'USD' })).toBe('US$12,50');
    expect(formatMoneyIn('en', { amount: 150000, currency: 'IDR' })).toBe('IDR 150,000');
  });

  it('refuses an unknown currency instead of printing nonsense', () => {
    expect(() => formatMoneyIn('id', { amount: 1, currency: 'XXX' })).toThrow(/unknown currency/);
  });
});
