/**
 * i18n for components: `t('home.title')`, `t('rooms.members', { n: 3 })`, `money(m)`.
 *
 * The locale and its messages come from the root layout's data (`page.data.locale`, set from
 * the `patungan_lang` cookie by hooks.server.ts; `page.data.messages`, that language's
 * dictionary, loaded by routes/+layout.ts), so every call is reactive and works in SSR.
 * Only format.ts is imported here: no catalogue is part of the browser's JavaScript.
 * Call these while rendering (templates, `$derived`) or in event handlers.
 */
import { page } from '$app/state';
import type { Money } from '@patungan/model';
import {
  DEFAULT_LOCALE,
  formatDateTime,
  formatMoneyIn,
  interpolate,
  isLocale,
  type Dictionary,
  type Locale,
  type MessageKey,
  type Params,
} from './format.ts';

export * from './format.ts';

export function locale(): Locale {
  const l = (page.data as { locale?: unknown } | undefined)?.locale;
  return isLocale(l) ? l : DEFAULT_LOCALE;
}

export function t(key: MessageKey, params?: Params): string {
  const messages = (page.data as { messages?: Dictionary } | undefined)?.messages;
  return interpolate(locale(), messages?.[key] ?? key, params);
}

/** For display: no-break spaces, so "Rp" never ends a line with the number on the next. */
export function money(m: Money): string {
  return formatMoneyIn(locale(), m).replace(/ /g, '\u00a0');
}

export function dateTime(iso: string | Date): string {
  return formatDateTime(locale(), iso);
}
