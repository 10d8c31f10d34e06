/**
 * The language-independent half of i18n: locales, `{name}` / plural interpolation, money and
 * date formats. It imports no catalogue, so the browser bundle carries no messages: the page
 * gets only its own language's dictionary (see catalogue.server.ts and the root +layout.ts).
 */
import { formatMoney, type Money } from '@patungan/model';
import type { messages as idShell } from './id.ts';
import type { messages as idRoom } from './room.id.ts';
import type { LifecycleKey } from './lifecycle.id.ts';
import type { NotifyKey } from './notify.id.ts';
import type { GroupKey } from './group.id.ts';
import type { HandoverKey } from './handover.id.ts';
import type { ReportsKey } from './reports.id.ts';
import type { ReviewsKey } from './reviews.id.ts';

export type Locale = 'id' | 'en';
export const LOCALES: readonly Locale[] = ['id', 'en'];
export const DEFAULT_LOCALE: Locale = 'id';

/** Every key: the shell, the room page, and one pair of files per feature area. */
export type MessageKey =
  | keyof typeof idShell
  | keyof typeof idRoom
  | LifecycleKey
  | NotifyKey
  | GroupKey
  | HandoverKey
  | ReportsKey
  | ReviewsKey;
export type Params = Record<string, string | number>;
export type Dictionary = Readonly<Record<string, string>>;

export function isLocale(v: unknown): v is Locale {
  return v === 'id' || v === 'en';
}

const pluralRules = new Map<Locale, Intl.PluralRules>();

/** The form of a number in a language: `one` / `other` in English ("1 item", "2 items"). */
export function pluralOf(locale: Locale, n: number): Intl.LDMLPluralRule {
  let r = pluralRules.get(locale);
  if (!r) {
    r = new Intl.PluralRules(locale);
    pluralRules.set(locale, r);
  }
  return r.select(n);
}

/**
 * Messages interpolate `{name}` and choose words by number with `{name|one:item|other:items}`
 * (forms named by Intl.PluralRules; `other` is the fallback). Indonesian needs no plural forms.
 */
export function interpolate(locale: Locale, msg: string, params?: Params): string {
  if (!params) return msg;
  return msg
    .replace(/\{(\w+)\|([^{}]*)\}/g, (whole, name: string, forms: string) => {
      if (!Object.hasOwn(params, name)) return whole;
      const byForm = new Map(
        forms.split('|').map((f) => {
          const at = f.indexOf(':');
          return [f.slice(0, at), f.slice(at + 1)] as const;
        }),
      );
      return byForm.get(pluralOf(locale, Number(params[name]))) ?? byForm.get('other') ?? '';
    })
    .replace(/\{(\w+)\}/g, (whole, name: string) =>
      Object.hasOwn(params, name) ? String(params[name]) : whole,
    );
}

/** `Rp 12.500` / `$12.50`: model's formatMoney in the locale's number style. */
export function formatMoneyIn(locale: Locale, m: Money): string {
  return formatMoney(m, locale === 'en' ? 'en-US' : 'id-ID');
}

const dateFormats = new Map<string, Intl.DateTimeFormat>();

export function formatDateTime(locale: Locale, iso: string | Date): string {
  let f = dateFormats.get(locale);
  if (!f) {
    f = new Intl.DateTimeFormat(locale === 'en' ? 'en-GB' : 'id-ID', {
      dateStyle: 'medium',
      timeStyle: 'short',
    });
    dateFormats.set(locale, f);
  }
  return f.format(new Date(iso));
}
