/**
 * Issue 11, item 9: every message key renders in both languages; the Indonesian text exists and
 * is not the English one (names and brand words excepted, listed below), says no common English
 * word, and English plurals agree with their number ("1 item", never "1 items").
 */
import { describe, expect, it } from 'vitest';
import { catalogues, translate, type MessageKey } from '../src/lib/i18n/translate.ts';

/** Keys whose text is the same in both languages on purpose: names, brands, loan words. */
const SAME_IN_BOTH = new Set<string>([
  'app.name', // Patungan
  'lang.id', // a language's own name
  'lang.en',
  'form.email', // "Email" is Indonesian too
  'staff.sku', // the code printed on the shelf label
  'staff.orderTotal', // "Total {amount}"
  'room.cart.subtotal',
  'room.cart.total',
  'room.split.total',
  'room.store.distance', // "{km} km"
  'room.checkout.method.midtrans', // brand and its method names
]);

/** Common English interface words that must not appear in an Indonesian text. */
const ENGLISH =
  /(?<![\p{L}\p{N}_-])(?:the|The|items?|rooms?|Room|code|Code|No|not|has|this|This|with|your|Your|you|You|and|Authori[sz]e|Retry|Error|error|Loading|Add|Remove|Cart|Search|Back|Friends|Profile|Sign|Password|Save|Cancel|Invite|Join|Share|Order|Payment|short|found|failed|please|Please)(?![\p{L}\p{N}_-])/u;

const keys = Object.keys(catalogues.id) as MessageKey[];
const placeholders = (s: string) =>
  [...new Set([...s.matchAll(/\{(\w+)(?:\|[^{}]*)?\}/g)].map((m) => m[1]!))].sort();
/** Placeholders that hold a number; every other one holds a name. */
const NUMERIC =
  /^(?:count|n|qty|seconds|minutes|hours|days|km|page|pages|score|available|max|wanted|left)$/;
/** Every placeholder of a message filled: numbers with `value`, names with a name. */
const paramsOf = (key: MessageKey, value: number) =>
  Object.fromEntries(
    [...placeholders(catalogues.id[key]!), ...placeholders(catalogues.en[key] ?? '')].map((p) => [
      p,
      NUMERIC.test(p) ? value : 'Budi',
    ]),
  );

describe('every message in both languages', () => {
  it('exists in both, and the Indonesian one is not the English one', () => {
    const missing = keys.filter((k) => !catalogues.en[k]?.trim() || !catalogues.id[k]?.trim());
    const extra = Object.keys(catalogues.en).filter((k) => !Object.hasOwn(catalogues.id, k));
    const same = keys.filter((k) => catalogues.id[k] === catalogues.en[k] && !SAME_IN_BOTH.has(k));
    expect({ missing, extra, same }).toEqual({ missing: [], extra: [], same: [] });
  });

  it('the allow-list only names keys that exist and are the same', () => {
    for (const k of SAME_IN_BOTH) expect(catalogues.id[k], k).toBe(catalogues.en[k]);
  });

  it('renders with every parameter filled, nothing left in braces', () => {
    for (const locale of ['id', 'en'] as const) {
      for (const k of keys) {
        for (const n of [0, 1, 2, 5]) {
          const text = translate(locale, k, paramsOf(k, n));
          expect(text, `${locale} ${k}`).not.toMatch(/[{}|]/);
        }
      }
    }
  });

  it('Indonesian texts say no common English word', () => {
    const found = keys
      .filter((k) => !SAME_IN_BOTH.has(k))
      .map((k) => [k, translate('id', k, paramsOf(k, 2))] as const)
      .filter(([, text]) => ENGLISH.test(text))
      .map(([k, text]) => `${k}: ${text}`);
    expect(found).toEqual([]);
  });

  it('English plurals agree with their number', () => {
    const wrong: string[] = [];
    for (const k of keys) {
      const one = translate('en', k, paramsOf(k, 1));
      // "1 items", "1 members", "1 invites sent" …
      if (/(?<![\d.,])1 (?!×)[a-z]+s\b/.test(one)) wrong.push(`${k}: ${one}`);
      const two = translate('en', k, paramsOf(k, 2));
      if (/(?<![\d.,])2 (item|member|invite|product|person)\b/.test(two))
        wrong.push(`${k}: ${two}`);
    }
    expect(wrong).toEqual([]);
    expect(translate('en', 'room.cart.itemCount', { count: 1 })).toBe('1 item');
    expect(translate('en', 'room.cart.itemCount', { count: 3 })).toBe('3 items');
    expect(translate('id', 'room.cart.itemCount', { count: 1 })).toBe('1 barang');
  });
});
