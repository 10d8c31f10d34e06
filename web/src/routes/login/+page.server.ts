import { redirect } from '@sveltejs/kit';
import { getDb } from '$lib/server/app.ts';
import { createSession, deleteSession, login } from '$lib/server/auth.ts';
import { WebError } from '$lib/server/errors.ts';
import { clientIp, echo, failWith, safeRedirect, str } from '$lib/server/forms.ts';
import { log } from '$lib/server/log.ts';
import { SESSION_COOKIE, setSessionCookie } from '$lib/server/session.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = ({ locals, url }) => {
  if (locals.user && !locals.user.guest)
    redirect(303, safeRedirect(url.searchParams.get('redirect'), url.origin));
  return { redirectTo: safeRedirect(url.searchParams.get('redirect'), url.origin) };
};

export const actions: Actions = {
  default: async (event) => {
    const form = await event.request.formData();
    const email = str(form.get('email'));
    const db = await getDb();
    let user;
    try {
      user = await login(db, { email, password: form.get('password'), ip: clientIp(event) });
    } catch (err) {
      if (err instanceof WebError && typeof err.details?.retryAfter === 'number') {
        event.setHeaders({ 'retry-after': String(err.details.retryAfter) });
      }
      return failWith(err, { email: echo(email) });
    }
    // Signing in ends whatever session this browser had (a guest's): a new cookie, the old
    // session revoked.
    await deleteSession(db, event.cookies.get(SESSION_COOKIE));
    setSessionCookie(event.cookies, event.url, await createSession(db, user.id));
    log.info({ userId: user.id }, 'logged in');
    redirect(303, safeRedirect(form.get('redirect'), event.url.origin));
  },
};
