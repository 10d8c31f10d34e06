import { redirect } from '@sveltejs/kit';
import { getDb } from '$lib/server/app.ts';
import { createSession, deleteSession, register } from '$lib/server/auth.ts';
import { echoAll, failWith, safeRedirect, str } from '$lib/server/forms.ts';
import { log } from '$lib/server/log.ts';
import { SESSION_COOKIE, setSessionCookie } from '$lib/server/session.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = ({ locals, url }) => {
  // A guest registering would lose their place: send them to claim their account instead.
  if (locals.user?.guest) redirect(303, '/profile#claim');
  if (locals.user) redirect(303, '/');
  return { redirectTo: safeRedirect(url.searchParams.get('redirect'), url.origin) };
};

export const actions: Actions = {
  default: async (event) => {
    const form = await event.request.formData();
    const values = { email: str(form.get('email')), name: str(form.get('name')) };
    const db = await getDb();
    let user;
    try {
      user = await register(db, { ...values, password: form.get('password') });
    } catch (err) {
      return failWith(err, echoAll(values));
    }
    // Registering ends whatever session this browser had (a guest's).
    await deleteSession(db, event.cookies.get(SESSION_COOKIE));
    setSessionCookie(event.cookies, event.url, await createSession(db, user.id));
    log.info({ userId: user.id }, 'registered');
    redirect(303, safeRedirect(form.get('redirect'), event.url.origin));
  },
};
