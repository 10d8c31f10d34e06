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
import idLifecycle from './lifecycle.id.ts';
import enLifecycle from './lifecycle.en.ts';
import idNotify from './notify.id.ts';
import enNotify from './notify.en.ts';
import idGroup from './group.id.ts';
import enGroup from './group.en.ts';
import idHandover from './handover.id.ts';
import enHandover from './handover.en.ts';
import idReports from './reports.id.ts';
import enReports from './reports.en.ts';
import idReviews from './reviews.id.ts';
import enReviews from './reviews.en.ts';
import { interpolate, type Locale, type MessageKey, type Params } from './format.ts';

export * from './format.ts';

export const catalogues: Record<Locale, Record<string, string>> = {
  id: {
    ...idShell,
    ...idRoom,
    ...idLifecycle,
    ...idNotify,
    ...idGroup,
    ...idHandover,
    ...idReports,
    ...idReviews,
  },
  en: {
    ...enShell,
    ...enRoom,
    ...enLifecycle,
    ...enNotify,
    ...enGroup,
    ...enHandover,
    ...enReports,
    ...enReviews,
  },
};

export function translate(locale: Locale, key: MessageKey, params?: Params): string {
  return interpolate(locale, catalogues[locale][key] ?? catalogues.id[key] ?? key, params);
}
