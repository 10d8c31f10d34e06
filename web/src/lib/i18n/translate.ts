/**
 * The pure half of i18n (no SvelteKit imports, so tests and server code use it directly):
 * the merged catalogues and `translate(locale, key, params)`.
 *
 * Messages interpolate `{name}` placeholders from `params`. A key missing in English falls
 * back to Indonesian, then to the key itself (the catalogue test keeps that from happening).
 *
 * Browser code imports format.ts (through `$lib/i18n`), never this module's values: the
 * catalogues of both languages stay out of the JavaScript a phone downloads.
 */
import { messages as idShell } from './id.ts';
import { messages as enShell } from './en.ts';
import idRoom from './room.id.ts';
import enRoom from './room.en.ts';
import { interpolate, type Locale, type MessageKey, type Params } from './format.ts';

export * from './format.ts';

export const catalogues: Record<Locale, Record<string, string>> = {
  id: { ...idShell, ...idRoom },
  en: { ...enShell, ...enRoom },
};

export function translate(locale: Locale, key: MessageKey, params?: Params): string {
  return interpolate(locale, catalogues[locale][key] ?? catalogues.id[key] ?? key, params);
}
