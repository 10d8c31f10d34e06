/**
 * `POST /lang` (form: `locale`, `redirect`) sets the language cookie and goes back.
 * A form post, so it works without JavaScript; the origin check makes it same-site only.
 */
import { error, redirect } from '@sveltejs/kit';
import { isLocale } from '$lib/i18n/translate.ts';
import { safeRedirect } from '$lib/server/forms.ts';
import { LOCALE_COOKIE, secureCookies } from '$lib/server/session.ts';
import type { RequestHandler } from './$types';

export const POST: RequestHandler = async ({ request, cookies, url }) => {
  let form: FormData;
  try {
    form = await request.formData();
  } catch {
    // No form body (or not a form at all): a clear 400, not an internal error.
    error(400, 'Expected a form with locale and redirect');
  }
  const locale = form.get('locale');
  if (isLocale(locale)) {
    cookies.set(LOCALE_COOKIE, locale, {
      path: '/',
      httpOnly: false,
      sameSite: 'lax',
      secure: secureCookies(url),
      maxAge: 365 * 24 * 3600,
    });
  }
  // Only this site: never an open redirect.
  redirect(303, safeRedirect(form.get('redirect'), url.origin));
};
